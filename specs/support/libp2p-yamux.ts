/**
 * Harness: a reference yamux peer (`@chainsafe/libp2p-yamux` v8) on a real TCP socket, without a libp2p node.
 *
 * libp2p-yamux v8 builds its muxer on a libp2p `MessageStream` (an event target that emits `message`,
 * `drain` and `close` and has `send()`/`abort()`), not on a Node stream. {@link SocketConnection} is the
 * smallest such adapter over a `net.Socket`: it extends `AbstractMultiaddrConnection` from `@libp2p/utils`
 * (a transitive dependency of libp2p-yamux) and maps
 *   socket 'data'  -> onData()            send(chunks) -> socket.write() (false => wait for 'drain')
 *   socket 'drain' -> 'drain' event       close()      -> socket.end(), resolves on 'close'
 *   socket 'close' -> onTransportClosed() abort()      -> socket.destroy()
 * The connection's `direction` sets the yamux role: 'outbound' = client (odd ids), 'inbound' = server.
 *
 * libp2p-yamux calls `Promise.withResolvers`, which Node 20 lacks; it is polyfilled below before the library
 * is loaded (a dynamic import, since static imports would be evaluated before this module's body).
 *
 * Usage:
 *   const [a, b, done] = await tcpPair();
 *   const theirs = await startTheirs(b, 'server');  // a reference yamux server on socket b
 *   theirs.muxer.addEventListener('stream', (e) => echo(e.detail));
 *   ...; await theirs.close(); await done();
 *
 * Helpers fail loudly: every wait is bounded by a timeout and rejects with a message naming what it waited for.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { YamuxMuxerInit } from '@chainsafe/libp2p-yamux';
import type { YamuxStream } from '@chainsafe/libp2p-yamux/stream';
import type { AbortOptions, StreamMessageEvent } from '@libp2p/interface';
import type { AbstractMultiaddrConnection as Base, SendResult } from '@libp2p/utils';

// --- Node 20 polyfill: must run before libp2p-yamux (and @libp2p/utils) are evaluated. ---
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (v: T | PromiseLike<T>) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

const { yamux } = await import('@chainsafe/libp2p-yamux');
const { AbstractMultiaddrConnection } = await import('@libp2p/utils');
const { defaultLogger } = await import('@libp2p/logger');
const { multiaddr } = await import('@multiformats/multiaddr');

export type { YamuxStream };
/** The muxer type libp2p-yamux returns (not exported by name from its index). */
export type YamuxMuxer = ReturnType<ReturnType<ReturnType<typeof yamux>>['createStreamMuxer']>;
export type Role = 'client' | 'server';
/** What libp2p hands out and takes: a Uint8Array or a Uint8ArrayList (of @libp2p's own uint8arraylist copy). */
type MessageData = StreamMessageEvent['data'];

let connectionCount = 0;

/** A libp2p `MessageStream` over a `net.Socket`. The socket's lifetime is the connection's lifetime. */
export class SocketConnection extends AbstractMultiaddrConnection {
  readonly socket: Socket;

  constructor(socket: Socket, role: Role) {
    const id = connectionCount++;
    super({
      direction: role === 'client' ? 'outbound' : 'inbound',
      log: defaultLogger().forComponent(`interop:tcp:${role}:${id}`),
      remoteAddr: multiaddr(`/ip4/${socket.remoteAddress ?? '127.0.0.1'}/tcp/${socket.remotePort ?? 0}`),
    });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (buf: Buffer) => this.onData(buf));
    socket.on('drain', () => this.safeDispatchEvent('drain'));
    // 'error' is always followed by 'close'; the error itself becomes the abort reason there.
    let failure: Error | undefined;
    socket.on('error', (err) => {
      failure = err;
    });
    socket.on('close', () => this.onTransportClosed(failure));
  }

  sendData(data: Parameters<Base['sendData']>[0]): SendResult {
    let canSendMore = true;
    for (const chunk of data) canSendMore = this.socket.write(chunk);
    return { sentBytes: data.byteLength, canSendMore };
  }

  sendReset(): void {
    this.socket.resetAndDestroy();
  }

  async sendClose(_options?: AbortOptions): Promise<void> {
    if (this.socket.destroyed) return;
    const closed = once(this.socket, 'close');
    this.socket.end();
    await closed;
  }

  sendPause(): void {
    this.socket.pause();
  }

  sendResume(): void {
    this.socket.resume();
  }
}

/** A running reference peer. */
export interface Theirs {
  readonly muxer: YamuxMuxer;
  readonly conn: SocketConnection;
  /** Next inbound stream (queued from the muxer's 'stream' events); rejects after `timeoutMs`. */
  nextStream(timeoutMs?: number): Promise<YamuxStream>;
  /** Graceful: close every stream, send GoAway(0), end the socket. */
  close(): Promise<void>;
}

/**
 * Start libp2p-yamux on `socket` in `role`. Keepalive is off unless `init.enableKeepAlive` says otherwise, so
 * pings happen only when a spec asks (`theirs.muxer.ping()`).
 */
export function startTheirs(socket: Socket, role: Role, init: YamuxMuxerInit = {}): Theirs {
  const conn = new SocketConnection(socket, role);
  const muxer = yamux({ enableKeepAlive: false, ...init })().createStreamMuxer(conn);
  const inbound: YamuxStream[] = [];
  const waiting: Array<(s: YamuxStream) => void> = [];
  muxer.addEventListener('stream', (evt) => {
    const w = waiting.shift();
    if (w) w(evt.detail);
    else inbound.push(evt.detail);
  });
  return {
    muxer,
    conn,
    nextStream(timeoutMs = 5_000) {
      const s = inbound.shift();
      if (s) return Promise.resolve(s);
      return withTimeout(
        new Promise<YamuxStream>((resolve) => waiting.push(resolve)),
        timeoutMs,
        'inbound stream',
      );
    },
    async close() {
      await withTimeout(muxer.close(), 5_000, 'libp2p-yamux muxer close');
      await withTimeout(conn.close(), 5_000, 'socket close');
    },
  };
}

/** Bytes of a libp2p message (a Uint8Array or a Uint8ArrayList). */
export function toBytes(data: MessageData): Uint8Array {
  return data instanceof Uint8Array ? data : data.subarray();
}

/**
 * Everything the peer sends on `stream` until it half-closes (FIN). Rejects if the stream closes with an
 * error (reset) first, or after `timeoutMs`.
 */
export function collect(stream: YamuxStream, timeoutMs = 30_000): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  const done = new Promise<Uint8Array[]>((resolve, reject) => {
    stream.addEventListener('message', (evt) => chunks.push(toBytes(evt.data).slice()));
    stream.addEventListener('remoteCloseWrite', () => resolve(chunks));
    stream.addEventListener('close', (evt) => (evt.error ? reject(evt.error) : resolve(chunks)));
    // Already half-closed by the peer: buffered data is dispatched in a microtask, so resolve after it.
    if (stream.remoteWriteStatus === 'closed') setImmediate(() => resolve(chunks));
  });
  return withTimeout(done, timeoutMs, `end of stream ${stream.streamId}`);
}

/** Write `data` in `chunkSize` pieces, waiting for 'drain' whenever send() says the buffer is full. */
export async function sendAll(stream: YamuxStream, data: Uint8Array, chunkSize = 64 * 1024): Promise<void> {
  for (let off = 0; off < data.length; off += chunkSize) {
    if (!stream.send(data.subarray(off, off + chunkSize)))
      await withTimeout(stream.onDrain(), 30_000, 'drain');
  }
}

/** Echo every byte back on the same stream; half-close after the peer half-closes. Never throws. */
export function echo(stream: YamuxStream): void {
  stream.addEventListener('message', (evt) => {
    try {
      stream.send(toBytes(evt.data).slice());
    } catch {
      // The stream was reset under us: nothing left to echo to.
    }
  });
  stream.addEventListener('remoteCloseWrite', () => {
    stream.close().catch(() => {});
  });
}

export { tcpPair } from './tcp-pair.js';

/** `p`, or a rejection naming `what` after `ms`. The timer never keeps the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
