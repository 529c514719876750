/**
 * An in-memory, socket-like pair of Node Duplex streams for specs: bytes written on one side are read on
 * the other.
 *
 * Like a TCP socket:
 * - every chunk the reader gets is a fresh copy (the writer may reuse its buffers);
 * - backpressure: a write completes only when the reader has room (its push() did not return false),
 *   so a reader that stops reading eventually makes the writer's write() return false;
 * - end() is a FIN: the other side reads EOF and, as `allowHalfOpen` is false, ends its side too, after
 *   which both emit 'close';
 * - destroy() on one side makes the other read EOF at once; later writes to it are dropped.
 *
 * `maxChunk` splits deliveries into pieces of at most that many bytes, to exercise parsers on arbitrary
 * chunk boundaries.
 */
import { Duplex } from 'node:stream';

export interface MemoryDuplexOptions {
  /** Largest chunk the reader gets, bytes; default: whole writes. */
  maxChunk?: number;
  /** Readable highWaterMark of each side, bytes; default 64 KiB (like a socket's receive buffer). */
  highWaterMark?: number;
}

export class MemoryDuplex extends Duplex {
  peer!: MemoryDuplex;
  private waiting: (() => void) | undefined;
  private eof = false;
  /** Bytes this side has received in total. */
  bytesReceived = 0;

  constructor(private readonly opts: MemoryDuplexOptions) {
    super({ allowHalfOpen: false, readableHighWaterMark: opts.highWaterMark ?? 64 * 1024 });
  }

  /** Deliver to this side's reader; false when it is full. */
  private deliver(data: Buffer): boolean {
    if (this.eof || this.destroyed) return true;
    const max = this.opts.maxChunk ?? data.length;
    let ok = true;
    for (let off = 0; off < data.length; off += max) {
      const piece = Buffer.from(data.subarray(off, Math.min(data.length, off + max)));
      this.bytesReceived += piece.length;
      ok = this.push(piece);
    }
    return ok;
  }

  private endRead(): void {
    if (this.eof || this.destroyed) return;
    this.eof = true;
    this.push(null);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.peer.deliver(chunk)) callback();
    else this.peer.waiting = callback;
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'binary', callback);
  }

  override _read(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.peer.endRead();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const w = this.peer.waiting;
    this.peer.waiting = undefined;
    w?.();
    this.peer.endRead();
    callback(err);
  }
}

/** Two connected ends. */
export function memoryDuplexPair(opts: MemoryDuplexOptions = {}): [MemoryDuplex, MemoryDuplex] {
  const a = new MemoryDuplex(opts);
  const b = new MemoryDuplex(opts);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
