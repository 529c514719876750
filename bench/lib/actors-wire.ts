/**
 * The raw baseline of the actors benchmark: a length-prefixed echo over mutual TLS 1.3 — what an RPC
 * needs at the least (a frame, a round trip) with no multiplexer, no MessagePack, no actor. A frame is a
 * 4-byte unsigned big-endian length and that many payload bytes; the server writes each whole frame back.
 */

/** Bytes of the length prefix. */
export const LENGTH_BYTES = 4;
/** Largest payload either side accepts; a bigger length is a protocol error that ends the connection. */
export const MAX_PAYLOAD = 64 * 1024;

/** `payload` as one frame. */
export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(LENGTH_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, LENGTH_BYTES);
  return out;
}

/**
 * Splits a byte stream into frames, across chunk boundaries. `push` returns the complete frames found
 * (prefix included, so an echo can write them back as they are); throws RangeError for a length above
 * {@link MAX_PAYLOAD}.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    let at = 0;
    while (buf.length - at >= LENGTH_BYTES) {
      const length = buf.readUInt32BE(at);
      if (length > MAX_PAYLOAD) throw new RangeError(`frame of ${length} bytes exceeds ${MAX_PAYLOAD}`);
      const end = at + LENGTH_BYTES + length;
      if (buf.length < end) break;
      frames.push(buf.subarray(at, end));
      at = end;
    }
    this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    return frames;
  }
}
