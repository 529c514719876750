/**
 * An independent reading of docs/PROTOCOL.md 4.2 (records) and 4.3 (references), for the channel fuzz
 * oracle: the records on a channel stream, and the structure of one MessagePack body (is it one
 * well-formed value, is it within the depth and reference limits, which references does it carry, in
 * order). Written from the document and the MessagePack spec alone: nothing here comes from
 * src/transport/channel, so the oracle does not share the product's mistakes. Pure.
 *
 * Where the document names several errors for one input and does not order them (a header both too long
 * and of an unknown type; a body both malformed and too deep), every code that applies is returned.
 */

/** One record: its type byte and its body (a view of the input). */
export interface RefRecord {
  readonly type: number;
  readonly body: Uint8Array;
}

/** How the bytes after the last whole record end. */
export type RecordsEnd =
  /** Exactly at a record boundary. */
  | { readonly kind: 'clean' }
  /** Inside a header or a body (at FIN: DECODE_ERROR). */
  | { readonly kind: 'partial' }
  /** A header the receiver refuses: one of `codes`. */
  | { readonly kind: 'bad-header'; readonly codes: readonly string[] };

export const MESSAGE = 0x00;
export const ERROR = 0x01;
const HEADER = 5;

/** Split a channel stream's bytes (after the preface) into records (PROTOCOL.md 4.2). */
export function readRecords(
  bytes: Uint8Array,
  maxMessageSize: number,
): { records: RefRecord[]; end: RecordsEnd } {
  const records: RefRecord[] = [];
  let pos = 0;
  for (;;) {
    if (pos === bytes.length) return { records, end: { kind: 'clean' } };
    if (bytes.length - pos < HEADER) return { records, end: { kind: 'partial' } };
    const length = u32(bytes, pos);
    const type = bytes[pos + 4]!;
    const codes: string[] = [];
    if (length > maxMessageSize) codes.push('MESSAGE_TOO_LARGE');
    if (type !== MESSAGE && type !== ERROR) codes.push('DECODE_ERROR');
    if (codes.length > 0) return { records, end: { kind: 'bad-header', codes } };
    if (bytes.length - pos - HEADER < length) return { records, end: { kind: 'partial' } };
    records.push({ type, body: bytes.subarray(pos + HEADER, pos + HEADER + length) });
    pos += HEADER + length;
  }
}

/** A CHANNEL (1), BYTES (2) or tagged CHANNEL (3 to 15) extension value found in a body (4.3). */
export interface FoundReference {
  readonly ext: number;
  readonly payload: Uint8Array;
}

/** What a body's structure says. */
export interface Structure {
  /** Empty when the body is one well-formed value within the limits; else every code that applies. */
  readonly codes: readonly string[];
  /** The references, in the order they appear (complete only when `codes` is empty). */
  readonly references: readonly FoundReference[];
}

class Malformed extends Error {}

/**
 * The structure of `body`, which must be exactly one MessagePack value: DECODE_ERROR when it is not
 * (truncated, bytes after it, the unused byte 0xc1, empty), REFERENCE_LIMIT when it nests deeper than
 * `maxDepth` (a scalar alone is depth 1, each enclosing array or map adds 1) or carries more than
 * `maxReferences` references.
 */
export function readStructure(body: Uint8Array, maxDepth: number, maxReferences: number): Structure {
  const references: FoundReference[] = [];
  let tooDeep = false;
  let malformed = false;
  const need = (at: number, n: number) => {
    if (at + n > body.length) throw new Malformed();
  };
  /** Read the value at `at`, `depth` deep; returns where it ends. */
  const value = (at: number, depth: number): number => {
    if (depth > maxDepth) tooDeep = true;
    need(at, 1);
    const b = body[at]!;
    // Scalars with no payload: fixints, nil, false, true.
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return at + 1;
    if (b >= 0x80 && b <= 0x8f) return items(at + 1, (b & 0x0f) * 2, depth);
    if (b >= 0x90 && b <= 0x9f) return items(at + 1, b & 0x0f, depth);
    if (b >= 0xa0 && b <= 0xbf) return skip(at + 1, b & 0x1f);
    switch (b) {
      case 0xc4:
      case 0xd9:
        need(at, 2);
        return skip(at + 2, body[at + 1]!);
      case 0xc5:
      case 0xda:
        need(at, 3);
        return skip(at + 3, u16(body, at + 1));
      case 0xc6:
      case 0xdb:
        need(at, 5);
        return skip(at + 5, u32(body, at + 1));
      case 0xca:
      case 0xce:
      case 0xd2:
        return skip(at + 1, 4);
      case 0xcb:
      case 0xcf:
      case 0xd3:
        return skip(at + 1, 8);
      case 0xcc:
      case 0xd0:
        return skip(at + 1, 1);
      case 0xcd:
      case 0xd1:
        return skip(at + 1, 2);
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        need(at, 2);
        return ext(at + 2, body[at + 1]!, 1 << (b - 0xd4));
      case 0xc7:
        need(at, 3);
        return ext(at + 3, body[at + 2]!, body[at + 1]!);
      case 0xc8:
        need(at, 4);
        return ext(at + 4, body[at + 3]!, u16(body, at + 1));
      case 0xc9:
        need(at, 6);
        return ext(at + 6, body[at + 5]!, u32(body, at + 1));
      case 0xdc:
        need(at, 3);
        return items(at + 3, u16(body, at + 1), depth);
      case 0xdd:
        need(at, 5);
        return items(at + 5, u32(body, at + 1), depth);
      case 0xde:
        need(at, 3);
        return items(at + 3, u16(body, at + 1) * 2, depth);
      case 0xdf:
        need(at, 5);
        return items(at + 5, u32(body, at + 1) * 2, depth);
      default: // 0xc1
        throw new Malformed();
    }
  };
  const skip = (at: number, n: number): number => {
    need(at, n);
    return at + n;
  };
  const items = (at: number, count: number, depth: number): number => {
    let pos = at;
    for (let i = 0; i < count; i++) pos = value(pos, depth + 1);
    return pos;
  };
  const ext = (at: number, type: number, length: number): number => {
    need(at, length);
    if (type >= 1 && type <= 15) references.push({ ext: type, payload: body.subarray(at, at + length) });
    return at + length;
  };
  try {
    if (value(0, 1) !== body.length) malformed = true;
  } catch (err) {
    if (!(err instanceof Malformed)) throw err;
    malformed = true;
  }
  const codes: string[] = [];
  if (malformed) codes.push('DECODE_ERROR');
  if (tooDeep || references.length > maxReferences) codes.push('REFERENCE_LIMIT');
  return { codes, references };
}

/** True when the bytes of "__proto__" occur in `bytes`. */
export function holdsProto(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).includes('__proto__');
}

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}
