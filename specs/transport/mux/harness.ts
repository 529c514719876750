/**
 * Shared helpers of the multiplexer specs: connected byte-stream pairs (in memory or real TCP on
 * 127.0.0.1), session pairs in either direction, a collecting listener, an echo acceptor, and a raw
 * frame-level peer for feeding a session hand-written bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { TransportError } from '../../../src/transport/errors.js';
import type { MuxConfig } from '../../../src/transport/mux/config.js';
import { encodeHeader, Flag, FrameType } from '../../../src/transport/mux/frame.js';
import { Session, type Stream } from '../../../src/transport/mux/index.js';
import { FrameReader, Verdict } from '../../../src/transport/mux/reader.js';
import { type MemoryDuplexOptions, memoryDuplexPair } from '../../support/memory-duplex.js';
import { tcpPair } from '../../support/tcp-pair.js';

export type Transport = 'memory' | 'tcp';
export const TRANSPORTS: Transport[] = ['memory', 'tcp'];
export type Direction = 'client opens' | 'server opens';
export const DIRECTIONS: Direction[] = ['client opens', 'server opens'];

/** Two connected byte streams ([dialer, listener]) and a cleanup that destroys both (and the TCP listener). */
export async function bytePair(
  transport: Transport,
  opts: MemoryDuplexOptions = {},
): Promise<[Duplex, Duplex, () => Promise<void>]> {
  if (transport === 'memory') {
    const [a, b] = memoryDuplexPair(opts);
    const done = async (): Promise<void> => {
      a.destroy();
      b.destroy();
    };
    return [a, b, done];
  }
  return tcpPair();
}

export interface SessionPair {
  client: Session;
  server: Session;
  /** The side that opens streams in this scenario, and the side that accepts them. */
  opener: Session;
  acceptor: Session;
  sockets: [Duplex, Duplex];
  /** Destroys what is left, waits for both sessions, asserts both stream tables are empty. */
  done(): Promise<void>;
}

export async function sessionPair(
  transport: Transport,
  direction: Direction = 'client opens',
  config: Partial<MuxConfig> = {},
  acceptorConfig: Partial<MuxConfig> = config,
): Promise<SessionPair> {
  const [a, b, cleanup] = await bytePair(transport);
  const clientOpens = direction === 'client opens';
  const client = new Session(a, 'client', {
    keepAliveIntervalMs: 0,
    ...(clientOpens ? config : acceptorConfig),
  });
  const server = new Session(b, 'server', {
    keepAliveIntervalMs: 0,
    ...(clientOpens ? acceptorConfig : config),
  });
  return {
    client,
    server,
    opener: clientOpens ? client : server,
    acceptor: clientOpens ? server : client,
    sockets: [a, b],
    async done() {
      client.destroy();
      server.destroy();
      await withTimeout(Promise.all([client.closed, server.closed]), 5_000, 'sessions closed');
      assert.equal(client.streamCount, 0, 'client stream table empty');
      assert.equal(server.streamCount, 0, 'server stream table empty');
      await cleanup();
    },
  };
}

export interface Collected {
  data: Buffer;
  ended: boolean;
  err: TransportError | undefined;
}

/** Listens to `stream`; resolves at onClose with everything received. Rejects after `timeoutMs`. */
export function collect(stream: Stream, timeoutMs = 30_000): Promise<Collected> {
  const chunks: Buffer[] = [];
  let ended = false;
  const p = new Promise<Collected>((resolve) => {
    stream.listen({
      onData: (c) => void chunks.push(Buffer.from(c)),
      onEnd: () => {
        ended = true;
      },
      onClose: (err) => resolve({ data: Buffer.concat(chunks), ended, err }),
    });
  });
  return withTimeout(p, timeoutMs, `close of stream ${stream.id}`);
}

/** Writes `data` in `chunk`-sized pieces honouring backpressure, then end() unless told not to. */
export async function writeAll(
  stream: Stream,
  data: Uint8Array,
  chunk = 64 * 1024,
  end = true,
): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) {
    if (!stream.write(data.subarray(off, off + chunk)))
      await withTimeout(stream.drained(), 30_000, 'drained');
  }
  if (end) stream.end();
}

/** Every inbound stream of `session` echoes what it reads and half-closes after the peer does. */
export function echo(session: Session): void {
  session.onStream = (s) => {
    s.listen({
      onData: (c) => {
        // The echo ignores write()'s backpressure hint: the test writers are bounded.
        s.write(c);
      },
      onEnd: () => s.end(),
      onClose: () => {},
    });
  };
}

/** Deterministic pseudo-random bytes. */
export function pattern(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** `p`, or a rejection naming `what` after `ms`. The timer never keeps the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 5 ms until it holds; rejects naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await tick(5);
  }
}

export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  length: number;
  payload: Buffer;
  /** The frame's bytes as read. */
  bytes: Buffer;
}

/**
 * A hand-driven yamux peer: writes raw bytes, parses (without judging) every frame the session sends.
 * It answers nothing unless asked: set `pingDelayMs` to answer Ping requests after that delay (a link of
 * that round-trip time, as the session's window tuning sees it), `onFrame` to react to frames as they come.
 */
export class RawPeer {
  readonly frames: RawFrame[] = [];
  ended = false;
  /** Answer each Ping SYN with its ACK after this many ms; undefined: never answer. */
  pingDelayMs: number | undefined = undefined;
  /** Called with every frame as it is parsed. */
  onFrame: ((f: RawFrame) => void) | undefined = undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly reader: FrameReader;
  private head: Omit<RawFrame, 'payload' | 'bytes'> | undefined;
  /** Pieces of the payload being read (the reader hands a payload that spans socket reads over in pieces). */
  private pieces: Buffer[] = [];

  constructor(readonly socket: Duplex) {
    this.reader = new FrameReader({
      onHeader: (_v, type, flags, streamId, length) => {
        const h = { type, flags, streamId, length };
        if (type === FrameType.Data && length > 0) {
          this.head = h;
          return Verdict.Payload;
        }
        this.got({ ...h, payload: Buffer.alloc(0), bytes: Buffer.from(encodeHeader(h)) });
        return Verdict.Next;
      },
      onPayload: (piece, last) => {
        this.pieces.push(piece);
        if (!last) return;
        const h = this.head!;
        const payload = Buffer.concat(this.pieces);
        this.pieces = [];
        this.got({ ...h, payload, bytes: Buffer.concat([encodeHeader(h), payload]) });
      },
    });
    socket.on('data', (c: Buffer) => this.reader.push(c));
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
    });
  }

  private got(f: RawFrame): void {
    this.frames.push(f);
    const delay = this.pingDelayMs;
    if (f.type === FrameType.Ping && (f.flags & Flag.SYN) !== 0 && delay !== undefined) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.socket.destroyed) this.send(FrameType.Ping, Flag.ACK, 0, f.length);
      }, delay);
      this.timers.add(t);
    }
    this.onFrame?.(f);
  }

  /** Writes one frame (Data payload optional). */
  send(type: number, flags: number, streamId: number, length: number, payload?: Uint8Array): void {
    this.socket.write(encodeHeader({ type, flags, streamId, length }));
    if (payload !== undefined && payload.length > 0) this.socket.write(payload);
  }

  /** Resolves with the first frame (from index `from`) matching `pred`. */
  async waitFor(pred: (f: RawFrame) => boolean, what: string, from = 0, ms = 5_000): Promise<RawFrame> {
    const find = (): RawFrame | undefined => this.frames.slice(from).find(pred);
    await until(() => find() !== undefined, what, ms);
    return find()!;
  }
}

export interface RawPair {
  session: Session;
  /** The session's end of the byte stream. */
  socket: Duplex;
  raw: RawPeer;
  /** Waits for the session to end, asserts its table is empty, closes the sockets. */
  done(): Promise<void>;
}

/**
 * A session in `role` facing a {@link RawPeer} on the other end (the raw side plays the other role and
 * must pick stream ids of that role's parity itself).
 */
export async function rawPair(
  transport: Transport,
  role: 'client' | 'server',
  config: Partial<MuxConfig> = {},
): Promise<RawPair> {
  const [a, b, cleanup] = await bytePair(transport);
  const [mine, theirs] = role === 'client' ? [a, b] : [b, a];
  const session = new Session(mine, role, { keepAliveIntervalMs: 0, ...config });
  const raw = new RawPeer(theirs);
  return {
    session,
    socket: mine,
    raw,
    async done() {
      session.destroy();
      await withTimeout(session.closed, 5_000, 'session closed');
      assert.equal(session.streamCount, 0, 'stream table empty');
      await cleanup();
    },
  };
}
