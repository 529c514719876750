/**
 * A socket over a MessagePort with no Node APIs, for builds without node:stream (a browser page and
 * its Workers): the event-emitter shape of a Node socket that the multiplexer reads and writes
 * (`on`, `write`, `cork`, `end`, `destroy`, `pause`, `resume`), over the same {@link PortLink} as
 * {@link PortDuplex}, so both ends speak the same port protocol and either can face the other.
 * It is also the {@link HandshakeStream} the handshakes read (in-band, prelude): until the first
 * `resume()` (the multiplexer's start), what arrives is kept for `readExactly`, and that `resume()`
 * hands what they left unread on as 'data'.
 */
import { type TransportError, transportError } from '../errors.js';
import { ByteReader, type HandshakeStream } from './byte-reader.js';
import { type PortLike, PortLink } from './port-link.js';

type Listener = (arg?: never) => void;

/** Bytes queued beyond which `write()` returns false (then 'drain' once below). */
const HIGH_WATER = 64 * 1024;

export class PortSocket implements HandshakeStream {
  destroyed = false;
  writableEnded = false;
  private readonly link: PortLink;
  private readonly listeners = new Map<string, Listener[]>();
  private paused = true;
  /** Non-null while the handshakes read; then null, and chunks go out as 'data'. */
  private reader: ByteReader | null = new ByteReader();
  /** Received while paused; null: the peer's end. */
  private readonly inbox: (Uint8Array | null)[] = [];
  private inboxBytes = 0;
  private readEnded = false;
  /** Writes not yet handed to the link, and their callbacks. */
  private queue: Uint8Array[] = [];
  private callbacks: ((err?: Error | null) => void)[] = [];
  private queuedBytes = 0;
  private corked = 0;
  private writing = false;
  private endPending = false;
  private needDrain = false;

  constructor(port: PortLike, windowBytes: number) {
    this.link = new PortLink(port, windowBytes, {
      data: (bytes) => this.arrive(bytes),
      end: () => this.arrive(null),
      closed: (error) => this.gone(error),
    });
  }

  /** Bytes written and not yet posted (queued, or waiting for the peer's credit). */
  get writableLength(): number {
    return this.queuedBytes + this.link.blockedBytes;
  }

  on(event: string, listener: (arg: never) => void): this {
    const list = this.listeners.get(event);
    if (list === undefined) this.listeners.set(event, [listener as Listener]);
    else list.push(listener as Listener);
    return this;
  }

  readExactly(n: number): Promise<Uint8Array> {
    if (this.reader === null)
      return Promise.reject(
        transportError('INTERNAL_ERROR', 'the handshake is over: read through data events'),
      );
    return this.reader.readExactly(n);
  }

  write(chunk: Uint8Array, callback?: (err?: Error | null) => void): boolean {
    if (this.destroyed || this.writableEnded) {
      if (callback) queueMicrotask(() => callback(new Error('socket closed')));
      return false;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.byteLength;
    if (callback) this.callbacks.push(callback);
    this.pump();
    const ok = this.writableLength < HIGH_WATER;
    if (!ok) this.needDrain = true;
    return ok;
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked > 0) this.corked--;
    this.pump();
  }

  /** Half-close after what was written: the peer gets 'end'. */
  end(): this {
    if (this.writableEnded || this.destroyed) return this;
    this.writableEnded = true;
    this.endPending = true;
    this.pump();
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.link.close();
    this.gone(undefined);
    return this;
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    if (this.reader !== null) {
      const rest = this.reader.takeRest();
      this.reader = null;
      for (const chunk of rest) this.inboxBytes += chunk.byteLength;
      this.inbox.unshift(...rest);
    }
    this.paused = false;
    while (!this.paused && this.inbox.length > 0 && !this.destroyed) {
      const next = this.inbox.shift()!;
      if (next === null) this.ended();
      else {
        this.inboxBytes -= next.byteLength;
        this.emit('data', next);
      }
    }
    this.link.consumed(this.inboxBytes);
    return this;
  }

  /** Hands the queue to the link, one write at a time (the link's contract), unless corked. */
  private pump(): void {
    if (this.writing || this.corked > 0 || this.destroyed) return;
    if (this.queue.length > 0) {
      const chunks = this.queue;
      const callbacks = this.callbacks;
      this.queue = [];
      this.callbacks = [];
      this.queuedBytes = 0;
      this.writing = true;
      this.link.write(chunks, () => {
        this.writing = false;
        for (const cb of callbacks) cb(this.link.isClosed ? new Error('socket closed') : null);
        this.pump();
      });
      return;
    }
    if (this.endPending) {
      this.endPending = false;
      this.link.end();
      this.closeIfDone();
    }
    if (this.needDrain && this.writableLength < HIGH_WATER) {
      this.needDrain = false;
      // Never inside the write() or uncork() that filled the buffer, as a Node socket: a writer that
      // reads write()'s false after uncork() (the multiplexer's outbox) would wait for a drain gone by.
      queueMicrotask(() => {
        if (!this.destroyed) this.emit('drain');
      });
    }
  }

  private arrive(bytes: Uint8Array | null): void {
    if (this.reader !== null) {
      // The handshake's bytes are few (far below a quarter of the window): no credit is due for them.
      if (bytes === null) {
        this.reader.end('ended');
        this.inbox.push(null);
      } else this.reader.push(bytes);
      return;
    }
    if (this.paused || this.inbox.length > 0) {
      this.inbox.push(bytes);
      if (bytes !== null) this.inboxBytes += bytes.byteLength;
      return;
    }
    if (bytes === null) this.ended();
    else {
      this.emit('data', bytes);
      this.link.consumed(this.inboxBytes);
    }
  }

  private ended(): void {
    if (this.readEnded) return;
    this.readEnded = true;
    this.emit('end');
    this.closeIfDone();
  }

  /** Both directions ended (ours posted, theirs read): the socket closes, as a Node socket does. */
  private closeIfDone(): void {
    if (this.readEnded && this.writableEnded && !this.endPending && !this.writing) this.destroy();
  }

  private gone(error: TransportError | undefined): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.writableEnded = true;
    this.reader?.end(error === undefined ? 'closed' : 'failed', error);
    const callbacks = this.callbacks;
    this.callbacks = [];
    this.queue = [];
    this.queuedBytes = 0;
    queueMicrotask(() => {
      for (const cb of callbacks) cb(new Error('socket closed'));
      if (error) this.emit('error', error);
      this.emit('close');
    });
  }

  private emit(event: string, arg?: unknown): void {
    for (const l of this.listeners.get(event) ?? []) (l as (a?: unknown) => void)(arg);
  }
}
