/**
 * What a handshake needs from a byte stream (write, read an exact count, destroy), and a Uint8Array
 * byte reader that gives it to a stream of chunks (a browser WebSocket): the handshakes read exactly
 * their own bytes, and whatever arrived after them is handed on to the multiplexer. No Node built-ins.
 */
import { transportError } from '../errors.js';

/** A byte stream as the handshakes (in-band, prelude) see it. */
export interface HandshakeStream {
  write(chunk: Uint8Array): unknown;
  /**
   * Resolves with exactly `n` bytes, leaving any after them unread. Rejects with TransportError
   * CONNECTION_LOST when the stream ends, closes or fails first.
   */
  readExactly(n: number): Promise<Uint8Array>;
  destroy(): unknown;
}

interface Pending {
  n: number;
  resolve(bytes: Uint8Array): void;
  reject(err: unknown): void;
}

/**
 * Chunks in, exact reads out. `push` the chunks as they arrive and `end` when the stream ends or fails;
 * `readExactly` serves one read at a time (a second before the first settles rejects INTERNAL_ERROR).
 * `takeRest()` hands back the unread chunks, in order, and stops the reader.
 */
export class ByteReader {
  private readonly chunks: Uint8Array[] = [];
  private buffered = 0;
  private pending: Pending | undefined;
  private ended: string | undefined;
  private cause: unknown;

  /** Bytes received and not yet read. */
  get length(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (this.ended !== undefined || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.serve();
  }

  /** No more bytes: `why` ('ended', 'closed', 'failed') says how, in the error a read then rejects with. */
  end(why: string, cause?: unknown): void {
    if (this.ended !== undefined) return;
    this.ended = why;
    this.cause = cause;
    this.serve();
  }

  readExactly(n: number): Promise<Uint8Array> {
    if (this.pending)
      return Promise.reject(transportError('INTERNAL_ERROR', 'a handshake read is already pending'));
    return new Promise((resolve, reject) => {
      this.pending = { n, resolve, reject };
      this.serve();
    });
  }

  /** The unread chunks, oldest first; the reader then holds nothing and serves no more reads. */
  takeRest(): Uint8Array[] {
    const rest = this.chunks.splice(0);
    this.buffered = 0;
    this.ended ??= 'taken';
    return rest;
  }

  private serve(): void {
    const p = this.pending;
    if (p === undefined) return;
    if (this.buffered >= p.n) {
      this.pending = undefined;
      p.resolve(this.take(p.n));
    } else if (this.ended !== undefined) {
      this.pending = undefined;
      const got = this.buffered;
      const why = got > 0 ? `${this.ended} after ${got} of ${p.n} bytes` : this.ended;
      p.reject(
        transportError(
          'CONNECTION_LOST',
          `connection ${why} during the handshake`,
          this.cause === undefined ? undefined : { cause: this.cause },
        ),
      );
    }
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length === n) {
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.slice(0, n);
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.length, n - at);
      out.set(chunk.subarray(0, part), at);
      at += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    this.buffered -= n;
    return out;
  }
}
