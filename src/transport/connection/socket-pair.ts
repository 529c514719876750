/**
 * Two linked {@link ByteSocket}s in memory, with no Node streams: what one writes, the other reads, a
 * microtask later. For a browser page (two ActorSystems on one page, tests) and anywhere node:stream is not
 * available; on Node, `memoryConnectionPair()` (a real Duplex pair) is the usual choice.
 *
 * Chunks are copied when written, so the writer may reuse its buffers. There is no backpressure: writes
 * always succeed and `writableLength` is 0. `end()` delivers 'end' to the peer after the data written
 * before it; `destroy()` closes both ends ('close' on each, the peer's unread data dropped).
 */
import type { ByteSocket } from '../mux/socket.js';
import type { Connection } from './connection.js';
import { MAX_PROTOCOL_VERSION } from './prelude.js';

type Listener = (arg?: never) => void;

class PairSocket implements ByteSocket {
  peer: PairSocket | undefined;
  destroyed = false;
  writableEnded = false;
  readonly writableLength = 0;
  private readonly listeners = new Map<string, Listener[]>();
  private paused = true;
  private readonly inbox: (Uint8Array | null)[] = [];
  private readEnded = false;

  on(event: string, listener: (arg: never) => void): this {
    const list = this.listeners.get(event);
    if (list === undefined) this.listeners.set(event, [listener as Listener]);
    else list.push(listener as Listener);
    return this;
  }

  private emit(event: string, arg?: unknown): void {
    for (const l of this.listeners.get(event) ?? []) (l as (a?: unknown) => void)(arg);
  }

  write(chunk: Uint8Array, callback?: (err?: Error | null) => void): boolean {
    const peer = this.peer;
    if (this.destroyed || this.writableEnded || peer === undefined) {
      if (callback) queueMicrotask(() => callback(new Error('socket closed')));
      return false;
    }
    peer.receive(chunk.slice());
    if (callback) queueMicrotask(() => callback());
    return true;
  }

  cork(): void {}
  uncork(): void {}

  end(): this {
    if (this.writableEnded || this.destroyed) return this;
    this.writableEnded = true;
    this.peer?.receive(null);
    this.closeIfDone();
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.inbox.length = 0;
    queueMicrotask(() => this.emit('close'));
    const peer = this.peer;
    if (peer !== undefined && !peer.destroyed) queueMicrotask(() => peer.destroy());
    return this;
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    if (!this.paused) return this;
    this.paused = false;
    this.schedule();
    return this;
  }

  /** A chunk from the peer, or null: the peer ended. */
  private receive(chunk: Uint8Array | null): void {
    if (this.destroyed) return;
    this.inbox.push(chunk);
    this.schedule();
  }

  private scheduled = false;

  private schedule(): void {
    if (this.scheduled || this.paused || this.inbox.length === 0) return;
    this.scheduled = true;
    queueMicrotask(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    while (!this.paused && !this.destroyed && this.inbox.length > 0) {
      const chunk = this.inbox.shift()!;
      if (chunk === null) {
        this.readEnded = true;
        this.emit('end');
        this.closeIfDone();
      } else this.emit('data', chunk);
    }
  }

  private closeIfDone(): void {
    if (this.readEnded && this.writableEnded && !this.destroyed) this.destroy();
  }
}

/** Two linked in-memory byte sockets. */
export function socketPair(): [ByteSocket, ByteSocket] {
  const a = new PairSocket();
  const b = new PairSocket();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/**
 * A {@link Connection} over any {@link ByteSocket} that needs no prelude or handshake of its own (both
 * ends are trusted code: an in-page pair, a test): no verified peer, protocol v2, msgpack.
 */
export function socketConnection(socket: ByteSocket, role: 'client' | 'server'): Connection {
  return {
    // Connection.socket is typed as a Node Duplex for Node programs; the session reads it only as a
    // ByteSocket, which is all this is.
    socket: socket as unknown as Connection['socket'],
    role,
    peer: undefined,
    version: MAX_PROTOCOL_VERSION,
    codec: 'msgpack',
    resumed: false,
    remoteAddress: undefined,
  };
}

/** A connected client/server pair over {@link socketPair}, without a prelude. */
export function socketConnectionPair(): [client: Connection, server: Connection] {
  const [a, b] = socketPair();
  return [socketConnection(a, 'client'), socketConnection(b, 'server')];
}
