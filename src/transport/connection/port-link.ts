/**
 * A byte pipe over a MessagePort, free of Node APIs: the same code drives a `worker_threads` port in
 * Node and a DOM MessagePort (a browser Worker, a MessageChannel). {@link PortDuplex} wraps it in a Node
 * Duplex; a browser build wraps it in its own stream.
 *
 * On the port (ordered, reliable, one message at a time), each side posts:
 * - data: an ArrayBuffer of bytes, transferred (see {@link PortLink.write});
 * - `{ t: 'credit', n }`: the sender may post `n` more data bytes. Each side starts with no credit and
 *   posts its receive window as its first message, then grants the bytes its reader consumed, so at
 *   most `windowBytes` sent bytes ever wait unread on the receiving side (a port has no backpressure of
 *   its own: without this, a fast writer grows the other side's queue without bound);
 * - `{ t: 'end' }`: no more data from this side (half-close, like a TCP FIN);
 * - `{ t: 'close' }`: this side is gone (like a TCP reset once both ends are not ended).
 * The port's own `close` event (Node: the other side closed its port, or its thread ended; browsers
 * that have it) counts as a `close` message.
 */
import { type TransportError, transportError } from '../errors.js';

/**
 * The origin both sides of a port sign in the in-band transcript. A port has no network origin: what
 * binds the handshake to the connection is the port itself, which only the two threads hold.
 */
export const PORT_ORIGIN = 'rxchan:messageport';

/**
 * What a MessagePort offers, in the shape shared by the DOM MessagePort and Node's `worker_threads`
 * MessagePort (a Node worker's `parentPort` is one). The link closes the port when the connection
 * ends, so give it a port of its own (a MessageChannel's): a DOM Worker or a worker's `self` has this
 * shape too, but `self.close()` ends the worker.
 */
export interface PortLike {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  // The platforms type their events (MessageEvent, Event); the link reads only `data`.
  // biome-ignore lint/suspicious/noExplicitAny: the listener's event type differs per platform
  addEventListener(type: string, listener: (event: any) => void): void;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  removeEventListener(type: string, listener: (event: any) => void): void;
  /** DOM ports deliver nothing to addEventListener listeners before start(). */
  start?(): void;
  close?(): void;
}

/** What a link tells its owner. Called on the port's event turn; must not throw. */
export interface PortLinkEvents {
  /** Bytes from the peer, in order. The array owns its buffer (transferred to us). */
  data(bytes: Uint8Array): void;
  /** The peer ended its side: no data follows. */
  end(): void;
  /**
   * The link is over: the peer closed (`error` CONNECTION_LOST unless both sides had ended), or it broke
   * the protocol (PROTOCOL_ERROR, WINDOW_EXCEEDED). Not called after {@link PortLink.close}.
   */
  closed(error: TransportError | undefined): void;
}

/** Control messages, as posted. */
type Control = { t: 'credit'; n: number } | { t: 'end' } | { t: 'close' };

/** The least a window may be: below this, a link spends more on credit messages than on data. */
export const MIN_PORT_WINDOW = 4096;

export class PortLink {
  /** Bytes we may still post. */
  private credit = 0;
  /** Data waiting for credit (the tail of the current write), and the write's callback. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private pendingDone: (() => void) | undefined;
  /** Bytes received in total, and bytes the peer may send in total (what we granted). */
  private received = 0;
  private granted: number;
  private sentEnd = false;
  private gotEnd = false;
  private over = false;
  private readonly onMessage = (event: { data?: unknown }) => this.receive(event.data);
  private readonly onMessageError = () =>
    this.fail(transportError('PROTOCOL_ERROR', 'a MessagePort message could not be deserialized'));
  private readonly onPortClose = () => this.peerClosed();

  constructor(
    private readonly port: PortLike,
    /** Our receive window, bytes: at most this many received bytes wait unconsumed. */
    readonly windowBytes: number,
    private readonly events: PortLinkEvents,
  ) {
    this.granted = windowBytes;
    port.addEventListener('message', this.onMessage);
    port.addEventListener('messageerror', this.onMessageError);
    port.addEventListener('close', this.onPortClose);
    port.start?.();
    this.post({ t: 'credit', n: windowBytes });
  }

  /** True once the link is over (closed by us or the peer, or broken). */
  get isClosed(): boolean {
    return this.over;
  }

  /** Bytes waiting for the peer's credit. */
  get blockedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Posts `chunks` as data, as far as the peer's credit allows; `done` is called (at once, or when
   * credit arrives) once all of it is posted, or when the link closes first. One write at a time: the
   * caller waits for `done`. The bytes are copied into one new ArrayBuffer per message, which is then
   * transferred, not cloned: the chunks may be views into buffers their writer keeps (a Node Buffer
   * pool, a frame arena), which must neither be detached nor sent whole (a posted view clones its
   * whole backing buffer, neighbouring bytes included). Throws nothing; after the end or the close, the
   * bytes are dropped.
   */
  write(chunks: readonly Uint8Array[], done: () => void): void {
    if (this.over || this.sentEnd) {
      done();
      return;
    }
    for (const c of chunks) {
      if (c.byteLength === 0) continue;
      this.pending.push(c);
      this.pendingBytes += c.byteLength;
    }
    this.pendingDone = done;
    this.flush();
  }

  /** Half-close: posts `end` (after all data written before). Idempotent. */
  end(): void {
    if (this.over || this.sentEnd) return;
    this.sentEnd = true;
    this.post({ t: 'end' });
  }

  /**
   * Reports that the reader has consumed every received byte but `unconsumed`; grants the peer credit
   * once a quarter of the window is free again. Never throws.
   */
  consumed(unconsumed: number): void {
    if (this.over || this.gotEnd) return;
    const grant = this.received - unconsumed + this.windowBytes - this.granted;
    if (grant < this.windowBytes / 4) return;
    this.granted += grant;
    this.post({ t: 'credit', n: grant });
  }

  /** Closes the link and the port: posts `close` unless the peer is gone. Idempotent; never throws. */
  close(): void {
    if (this.over) return;
    this.post({ t: 'close' });
    this.shut();
  }

  private flush(): void {
    while (this.pendingBytes > 0 && this.credit > 0 && !this.over) {
      const size = Math.min(this.pendingBytes, this.credit);
      const out = new Uint8Array(size);
      let at = 0;
      while (at < size) {
        const head = this.pending[0]!;
        const take = Math.min(head.byteLength, size - at);
        out.set(take === head.byteLength ? head : head.subarray(0, take), at);
        at += take;
        if (take === head.byteLength) this.pending.shift();
        else this.pending[0] = head.subarray(take);
      }
      this.pendingBytes -= size;
      this.credit -= size;
      this.post(out.buffer, [out.buffer]);
    }
    if (this.pendingBytes === 0 || this.over) this.release();
  }

  private release(): void {
    const done = this.pendingDone;
    this.pendingDone = undefined;
    this.pending = [];
    this.pendingBytes = 0;
    done?.();
  }

  private receive(data: unknown): void {
    if (this.over) return;
    if (data instanceof ArrayBuffer) {
      if (this.gotEnd) {
        this.fail(transportError('PROTOCOL_ERROR', 'MessagePort peer sent data after its end'));
        return;
      }
      this.received += data.byteLength;
      if (this.received > this.granted) {
        this.fail(
          transportError(
            'WINDOW_EXCEEDED',
            `MessagePort peer sent ${this.received - this.granted} bytes beyond its window (${this.windowBytes} bytes)`,
          ),
        );
        return;
      }
      this.events.data(new Uint8Array(data));
      return;
    }
    const control = data as Partial<Control> | null;
    switch (typeof control === 'object' && control !== null ? control.t : undefined) {
      case 'credit': {
        const n = (control as { n?: unknown }).n;
        if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0 || this.credit + n > 2 ** 52) {
          this.fail(transportError('PROTOCOL_ERROR', `MessagePort peer sent a bad credit: ${String(n)}`));
          return;
        }
        this.credit += n;
        if (this.pendingBytes > 0) this.flush();
        return;
      }
      case 'end':
        if (this.gotEnd) return;
        this.gotEnd = true;
        this.events.end();
        return;
      case 'close':
        this.peerClosed();
        return;
      default:
        this.fail(
          transportError('PROTOCOL_ERROR', 'MessagePort peer sent a message that is not rxchan data'),
        );
    }
  }

  private peerClosed(): void {
    if (this.over) return;
    const clean = this.gotEnd && this.sentEnd && this.pendingBytes === 0;
    this.shut();
    this.events.closed(
      clean ? undefined : transportError('CONNECTION_LOST', 'the MessagePort peer closed the connection'),
    );
  }

  private fail(error: TransportError): void {
    if (this.over) return;
    this.post({ t: 'close' });
    this.shut();
    this.events.closed(error);
  }

  private shut(): void {
    this.over = true;
    this.port.removeEventListener('message', this.onMessage);
    this.port.removeEventListener('messageerror', this.onMessageError);
    this.port.removeEventListener('close', this.onPortClose);
    try {
      this.port.close?.();
    } catch {
      // A port already closed, or one that cannot be (a Worker's global scope): nothing to undo.
    }
    this.release();
  }

  /** Posts, ignoring a port that is already closed (posting to one is a no-op in Node and browsers). */
  private post(message: ArrayBuffer | Control, transfer?: ArrayBuffer[]): void {
    try {
      if (transfer) this.port.postMessage(message, transfer);
      else this.port.postMessage(message);
    } catch (err) {
      // A DataCloneError cannot happen for these messages; anything else means the port is unusable.
      if (!this.over) {
        queueMicrotask(() =>
          this.fail(transportError('CONNECTION_LOST', 'MessagePort postMessage failed', { cause: err })),
        );
      }
    }
  }
}
