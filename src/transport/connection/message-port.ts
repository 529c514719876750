/**
 * A Node Duplex over a MessagePort (see {@link PortLink} for what goes on the port): what a Connection
 * carries when the peer is another thread (`worker_threads`) rather than a socket.
 */
import { Duplex } from 'node:stream';
import type { TransportError } from '../errors.js';
import { type PortLike, PortLink } from './port-link.js';

/**
 * One side of a byte pipe over `port`. Writes are posted as the peer's window allows (a write's
 * callback waits for credit: the usual Writable backpressure); at most `windowBytes` of the peer's bytes
 * wait here unread. `end()` half-closes (the peer reads EOF); `destroy()` posts `close` and closes the
 * port. The peer's `close`, or the port's close event, destroys this side: without an error once both
 * sides had ended, else with CONNECTION_LOST; a peer that breaks the port protocol destroys it with
 * PROTOCOL_ERROR or WINDOW_EXCEEDED.
 */
export class PortDuplex extends Duplex {
  private readonly link: PortLink;

  constructor(port: PortLike, windowBytes: number) {
    super({ allowHalfOpen: true });
    this.link = new PortLink(port, windowBytes, {
      data: (bytes) => {
        this.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        this.link.consumed(this.readableLength);
      },
      end: () => this.push(null),
      closed: (error: TransportError | undefined) => this.destroy(error),
    });
  }

  /** Bytes written and not yet posted for want of the peer's credit. */
  get blockedBytes(): number {
    return this.link.blockedBytes;
  }

  // Every way bytes leave the readable buffer goes through read() (flowing mode too), except a push
  // delivered straight to 'data' listeners, which the data handler above accounts for.
  override read(size?: number): unknown {
    const chunk = super.read(size);
    this.link.consumed(this.readableLength);
    return chunk;
  }

  override _read(): void {
    this.link.consumed(this.readableLength);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.link.write([chunk], () => callback());
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    this.link.write(
      chunks.map((c) => c.chunk),
      () => callback(),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.link.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.link.close();
    callback(error);
  }
}
