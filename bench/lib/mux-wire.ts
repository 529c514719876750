/** The only message of the mux benchmark's own protocol: a byte count, 8 bytes unsigned big-endian. */

export const COUNT_LENGTH = 8;

/** Encode `n` (a non-negative safe integer). */
export function encodeCount(n: number): Buffer {
  const b = Buffer.alloc(COUNT_LENGTH);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** Decode the first {@link COUNT_LENGTH} bytes of `b`; throws RangeError if `b` is shorter. */
export function decodeCount(b: Uint8Array): number {
  if (b.length < COUNT_LENGTH) throw new RangeError(`count needs ${COUNT_LENGTH} bytes, got ${b.length}`);
  return Number(Buffer.from(b.buffer, b.byteOffset, COUNT_LENGTH).readBigUInt64BE());
}
