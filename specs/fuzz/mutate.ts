/**
 * Fuzz inputs: valid encodings (protocol vectors, captured traffic) cut up and damaged the way a broken
 * or hostile peer would: bits flipped, bytes set to edge values, bytes inserted, deleted, duplicated,
 * big-endian lengths overwritten, the input truncated. Plus plain random bytes. Pure: no I/O.
 */
import fc from 'fast-check';

/** One edit of a byte string. Positions are taken modulo the current length, so every op applies. */
export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'u32'; readonly at: number; readonly value: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly kind: 'truncate'; readonly at: number };

/** Byte values parsers treat specially: zero, sign and range edges, MessagePack markers (0xc1 is never used). */
export const EDGE_BYTES = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x7f, 0x80, 0xc1, 0xc7, 0xdd, 0xdf, 0xff,
];

/** 32-bit values that sit on limits: windows, frame and message sizes, stream ids, overflow. */
export const EDGE_U32 = [
  0, 1, 2, 3, 0x7f, 0xff, 0x1_0000, 0x4_0000, 0x4_0001, 0x40_0000, 0x40_0001, 0x100_0000, 0x100_0001,
  0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff,
];

const position = fc.nat({ max: 1 << 20 });

/** One random edit. */
export function mutation(): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({
      kind: fc.constant('set' as const),
      at: position,
      value: fc.oneof(fc.constantFrom(...EDGE_BYTES), fc.integer({ min: 0, max: 255 })),
    }),
    fc.record({
      kind: fc.constant('u32' as const),
      at: position,
      value: fc.oneof(fc.constantFrom(...EDGE_U32), fc.nat()),
    }),
    fc.record({
      kind: fc.constant('insert' as const),
      at: position,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
    }),
    fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 8 }) }),
    fc.record({
      kind: fc.constant('duplicate' as const),
      at: position,
      length: fc.integer({ min: 1, max: 24 }),
    }),
    fc.record({ kind: fc.constant('truncate' as const), at: position }),
  );
}

/** `input` with `ops` applied in order (a new array; `input` is untouched). */
export function applyMutations(input: Uint8Array, ops: readonly Mutation[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  for (const op of ops) {
    const n = b.length;
    const at = n === 0 ? 0 : op.at % n;
    switch (op.kind) {
      case 'flip':
        if (n > 0) b[at] = b[at]! ^ (1 << op.bit);
        break;
      case 'set':
        if (n > 0) b[at] = op.value;
        break;
      case 'u32':
        if (n >= 4) {
          const o = op.at % (n - 3);
          b[o] = op.value >>> 24;
          b[o + 1] = (op.value >>> 16) & 0xff;
          b[o + 2] = (op.value >>> 8) & 0xff;
          b[o + 3] = op.value & 0xff;
        }
        break;
      case 'insert':
        b = concat([b.subarray(0, at), op.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = concat([b.subarray(0, at), b.subarray(Math.min(n, at + op.length))]);
        break;
      case 'duplicate': {
        const piece = b.subarray(at, Math.min(n, at + op.length));
        b = concat([b.subarray(0, at), piece, b.subarray(at)]);
        break;
      }
      case 'truncate':
        b = b.slice(0, at);
        break;
    }
  }
  return b;
}

/** 1 to `maxSeeds` seeds (with repetition, in any order) joined, then 0 to `maxOps` edits. */
export function mutatedFrom(
  seeds: readonly Uint8Array[],
  options: { maxSeeds?: number; maxOps?: number } = {},
): fc.Arbitrary<Uint8Array> {
  if (seeds.length === 0) throw new Error('mutatedFrom needs at least one seed');
  return fc
    .tuple(
      fc.array(fc.constantFrom(...seeds), { minLength: 1, maxLength: options.maxSeeds ?? 4 }),
      fc.array(mutation(), { maxLength: options.maxOps ?? 6 }),
    )
    .map(([parts, ops]) => applyMutations(concat(parts), ops));
}

/** What a fuzz property feeds a parser: mostly damaged seeds, some untouched seeds, some noise. */
export function fuzzInput(
  seeds: readonly Uint8Array[],
  options: { maxSeeds?: number; maxOps?: number; maxRandom?: number } = {},
): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 7, arbitrary: mutatedFrom(seeds, options) },
    { weight: 1, arbitrary: mutatedFrom(seeds, { ...options, maxOps: 0 }) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: options.maxRandom ?? 96 }) },
  );
}

/** Cut points for delivering `length` bytes in several writes (chunk boundaries are a parser's weak spot). */
export function cuts(): fc.Arbitrary<number[]> {
  return fc.array(fc.nat({ max: 4096 }), { maxLength: 4 });
}

/** `bytes` split at `points` (taken modulo its length + 1), in order, empty pieces dropped. */
export function split(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...at, bytes.length]) {
    if (p > from) out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
