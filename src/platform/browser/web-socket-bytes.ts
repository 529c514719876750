/**
 * A DOM WebSocket as a {@link ByteSocket} (what the multiplexer runs on) and a {@link HandshakeStream}
 * (what the in-band handshake and the prelude read): every binary message is a chunk of one byte
 * stream, in order; message boundaries mean nothing. A text message breaks that contract and fails the
 * stream (close code 1003).
 *
 * Until the multiplexer calls `resume()`, what arrives is buffered for `readExactly` (the handshakes);
 * the first `resume()` hands what they left unread on as 'data', then messages flow as they arrive.
 *
 * Backpressure: a browser WebSocket has no 'drain' event and never refuses a send, so `write()`
 * returns false once `bufferedAmount` (plus corked bytes) passes {@link WRITE_HIGH_WATER}, and then
 * polls `bufferedAmount` every {@link DRAIN_POLL_MS} until it is below half of it, and emits 'drain'.
 * Reads cannot be paused in a browser: `pause()` holds delivered chunks (bounded by the multiplexer's
 * windows, which the peer respects) until `resume()`.
 */
import { ByteReader, type HandshakeStream } from '../../transport/connection/byte-reader.js';
import { transportError } from '../../transport/errors.js';
import type { ByteSocket } from '../../transport/mux/socket.js';

/** Largest message we send, bytes: longer writes are split (as the Node side does, ws-duplex.ts). */
export const WS_MAX_SEND_MESSAGE = 65536;
/** Bytes queued in the browser above which `write()` returns false. */
export const WRITE_HIGH_WATER = 256 * 1024;
/** How often a full socket checks whether it drained, ms. */
export const DRAIN_POLL_MS = 5;
/** The close code sent for a text message: 1003, unsupported data. */
const CLOSE_UNSUPPORTED = 1003;

type Listener = (arg?: never) => void;

export class WebSocketBytes implements ByteSocket, HandshakeStream {
  destroyed = false;
  writableEnded = false;
  private readonly listeners = new Map<string, Listener[]>();
  /** Non-null while the handshakes read; then null, and chunks go out as 'data'. */
  private reader: ByteReader | null = new ByteReader();
  private paused = true;
  private held: Uint8Array[] = [];
  private corked = 0;
  private corkedChunks: Uint8Array[] = [];
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  private closeEmitted = false;

  constructor(private readonly ws: WebSocket) {
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (event) => this.onMessage(event));
    ws.addEventListener('close', (event) => this.onClose(event));
    ws.addEventListener('error', () => this.onError());
  }

  get writableLength(): number {
    let n = this.ws.bufferedAmount;
    for (const c of this.corkedChunks) n += c.length;
    return n;
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
    if (this.destroyed || this.writableEnded || this.ws.readyState !== WebSocket.OPEN) {
      if (callback) queueMicrotask(() => callback(lost('closed')));
      return false;
    }
    if (this.corked > 0) this.corkedChunks.push(chunk);
    else this.send(chunk);
    if (callback) queueMicrotask(() => callback());
    return this.hasRoom();
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked === 0 || --this.corked > 0) return;
    const chunks = this.corkedChunks;
    this.corkedChunks = [];
    if (chunks.length === 0 || this.destroyed || this.ws.readyState !== WebSocket.OPEN) return;
    if (chunks.length === 1) {
      this.send(chunks[0]!);
      return;
    }
    let total = 0;
    for (const c of chunks) total += c.length;
    const joined = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      joined.set(c, at);
      at += c.length;
    }
    this.send(joined);
  }

  /** No half-close on a WebSocket: ending closes it (code 1000), after what was sent before. */
  end(): this {
    if (this.writableEnded || this.destroyed) return this;
    this.uncorkAll();
    this.writableEnded = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(1000);
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    clearTimeout(this.drainTimer);
    this.held = [];
    this.reader?.end('closed');
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(1000);
    queueMicrotask(() => this.emitClose());
    return this;
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    if (this.reader !== null) {
      this.held.push(...this.reader.takeRest());
      this.reader = null;
    }
    this.paused = false;
    while (!this.paused && !this.destroyed && this.held.length > 0) this.emit('data', this.held.shift());
    return this;
  }

  private onMessage(event: MessageEvent): void {
    if (this.destroyed) return;
    if (!(event.data instanceof ArrayBuffer)) {
      this.fail(
        transportError('CONNECTION_LOST', 'the peer sent a text message on a binary stream'),
        CLOSE_UNSUPPORTED,
      );
      return;
    }
    const chunk = new Uint8Array(event.data);
    if (this.reader !== null) this.reader.push(chunk);
    else if (this.paused) this.held.push(chunk);
    else this.emit('data', chunk);
  }

  private onClose(event: { code: number }): void {
    if (this.destroyed) return;
    this.reader?.end(`closed (code ${event.code})`);
    this.destroyed = true;
    clearTimeout(this.drainTimer);
    if (this.reader === null) {
      // What was received before the close is still delivered, then 'end' and 'close'.
      this.resumeHeldForClose();
      this.emit('end');
    }
    this.emitClose();
  }

  private onError(): void {
    if (this.destroyed) return;
    // A browser says nothing about why; 'close' follows (code 1006).
    this.emit('error', lost('failed'));
  }

  private fail(error: Error, code: number): void {
    if (this.destroyed) return;
    this.emit('error', error);
    this.reader?.end('failed', error);
    this.destroyed = true;
    clearTimeout(this.drainTimer);
    this.ws.close(code);
    queueMicrotask(() => this.emitClose());
  }

  private resumeHeldForClose(): void {
    while (this.held.length > 0) this.emit('data', this.held.shift());
  }

  private send(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length; at += WS_MAX_SEND_MESSAGE)
      this.ws.send(chunk.subarray(at, Math.min(chunk.length, at + WS_MAX_SEND_MESSAGE)));
  }

  private uncorkAll(): void {
    if (this.corked === 0) return;
    this.corked = 1;
    this.uncork();
  }

  private hasRoom(): boolean {
    if (this.writableLength < WRITE_HIGH_WATER) return true;
    this.drainTimer ??= setTimeout(() => this.pollDrain(), DRAIN_POLL_MS);
    return false;
  }

  private pollDrain(): void {
    this.drainTimer = undefined;
    if (this.destroyed) return;
    if (this.ws.bufferedAmount < WRITE_HIGH_WATER / 2) this.emit('drain');
    else this.drainTimer = setTimeout(() => this.pollDrain(), DRAIN_POLL_MS);
  }

  private emitClose(): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.emit('close');
  }

  private emit(event: string, arg?: unknown): void {
    for (const l of this.listeners.get(event) ?? []) (l as (a?: unknown) => void)(arg);
  }
}

function lost(why: string): Error {
  return transportError('CONNECTION_LOST', `WebSocket ${why}`);
}
