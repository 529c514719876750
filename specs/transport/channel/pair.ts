/**
 * Spec harness: two ChannelSessions joined over an in-memory duplex pair or a real TCP connection on
 * 127.0.0.1, with `a` the side that opens channels and `b` the side that accepts, in either yamux role.
 *
 * `finish()` checks the invariant every scenario ends with (both multiplexers have no streams left,
 * waiting a bounded time for FIN/RST to cross), then closes both sessions and the sockets.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ChannelConfig, ChannelSession } from '../../../src/transport/channel/index.js';
import { type MuxConfig, Session } from '../../../src/transport/mux/index.js';
import { memoryDuplexPair } from '../../support/memory-duplex.js';

export type TransportKind = 'memory' | 'tcp';
/** Which yamux role opens the channels in a scenario. */
export type Direction = 'client-opens' | 'server-opens';

export interface PairOptions {
  /** Channel config of the accepting side `b`. */
  b?: Partial<ChannelConfig>;
  /** Channel config of the opening side `a`. */
  a?: Partial<ChannelConfig>;
  mux?: Partial<MuxConfig>;
  /** In-memory only: split deliveries into chunks of at most this many bytes. */
  maxChunk?: number;
}

export interface Pair {
  readonly a: ChannelSession;
  readonly b: ChannelSession;
  /** The raw byte streams under a and b. */
  readonly sockets: { a: Duplex; b: Duplex };
  /** Wait (bounded) until both multiplexers have no streams, assert it, then close everything. */
  finish(): Promise<void>;
  /** Close everything without the stream-count check (for cleanup after a failure). */
  teardown(): Promise<void>;
}

const muxDefaults: Partial<MuxConfig> = { keepAliveIntervalMs: 0, closeTimeoutMs: 1000 };

export async function makePair(
  kind: TransportKind,
  direction: Direction,
  opts: PairOptions = {},
): Promise<Pair> {
  let clientSocket: Duplex;
  let serverSocket: Duplex;
  let stopServer = async () => {};
  if (kind === 'memory') {
    [clientSocket, serverSocket] = memoryDuplexPair(
      opts.maxChunk === undefined ? {} : { maxChunk: opts.maxChunk },
    );
  } else {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const socket = tcpConnect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    clientSocket = socket;
    [serverSocket] = await accepted;
    stopServer = () => new Promise((resolve) => server.close(() => resolve()));
  }
  const mux = { ...muxDefaults, ...opts.mux };
  const client = new Session(clientSocket, 'client', mux);
  const server = new Session(serverSocket, 'server', mux);
  const [muxA, muxB, sockA, sockB] =
    direction === 'client-opens'
      ? [client, server, clientSocket, serverSocket]
      : [server, client, serverSocket, clientSocket];
  const a = new ChannelSession(muxA, opts.a);
  const b = new ChannelSession(muxB, opts.b);
  const teardown = async () => {
    a.destroy();
    b.destroy();
    await Promise.all([a.closed, b.closed]);
    clientSocket.destroy();
    serverSocket.destroy();
    await stopServer();
  };
  return {
    a,
    b,
    sockets: { a: sockA, b: sockB },
    teardown,
    async finish() {
      try {
        await waitFor(() => a.mux.streamCount === 0 && b.mux.streamCount === 0, 5000, 'streams to close');
        assert.equal(a.mux.streamCount, 0, 'streams left on a');
        assert.equal(b.mux.streamCount, 0, 'streams left on b');
        await Promise.all([a.close(), b.close()]);
      } finally {
        await teardown();
      }
    },
  };
}

/** Poll `cond` (every few ms) until it holds; reject naming `what` after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * True when `promise` is still pending after `ms` (it keeps running). A promise that settles at once is
 * seen within one macrotask, so the long wait is only paid for a promise that is really held.
 */
export async function staysPending(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((r) => setImmediate(r));
  if (settled) return false;
  await new Promise((r) => setTimeout(r, ms));
  return !settled;
}
