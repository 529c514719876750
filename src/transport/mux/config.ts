/**
 * Multiplexer configuration (hashicorp/yamux `mux.go`: Config, DefaultConfig, VerifyConfig).
 *
 * Every field has a unit and a default; {@link verifyConfig} rejects what the session cannot honour.
 * The receive limits (`maxConcurrentStreams`, `maxAcceptBacklog`, `maxFrameLength`, the window) bound
 * what a peer can make this side hold in memory.
 */
import { transportError } from '../errors.js';
import { INITIAL_STREAM_WINDOW, MAX_UINT32 } from './frame.js';

/** client = the dialer, opens odd stream ids; server = the listener, even ids. */
export type Role = 'client' | 'server';

export interface MuxConfig {
  /**
   * Receive window per stream to start with, bytes: how much the peer may send before we return credit.
   * yamux fixes the initial value at 256 KiB on the wire; a larger value is announced with a WindowUpdate
   * right after SYN/ACK. Auto-tuning may grow it up to `maxStreamWindow`. Default 256 KiB. Min 256 KiB,
   * max 2^32-1.
   */
  streamWindow: number;
  /**
   * Largest receive window a stream may grow to, bytes. A stream whose consumer drains its window faster
   * than a round trip allows doubles its window (announced as extra credit), up to this and never beyond
   * `maxFrameLength` (see window.ts). Default 16 MiB. Min `streamWindow` (equal: windows never grow),
   * max 2^32-1.
   */
  maxStreamWindow: number;
  /**
   * Session-wide receive budget, bytes: how much the receive windows of all streams of one session
   * together may grow beyond `streamWindow`. A stream that closes gives its growth back. Bounds what a
   * peer can make this side buffer to `maxConcurrentStreams * streamWindow + windowGrowthBudget`.
   * Default 32 MiB. 0: windows never grow.
   */
  windowGrowthBudget: number;
  /**
   * Max streams open at once, both directions together (including those waiting to be accepted).
   * Default 4096. Opening beyond throws STREAM_LIMIT; an inbound SYN beyond is answered with RST. Min 1.
   */
  maxConcurrentStreams: number;
  /**
   * Inbound streams waiting for accept() when no onStream handler is set. Default 256. A SYN beyond is
   * answered with RST (ACCEPT_BACKLOG). 0 means no backlog: without onStream every inbound stream is reset.
   */
  maxAcceptBacklog: number;
  /**
   * Max payload length of an inbound Data frame, bytes. Default 16 MiB. A header announcing more closes
   * the session with GoAway(1), FRAME_TOO_LARGE. Must be >= streamWindow, and windows never grow beyond
   * it (a peer may send a whole window in one frame).
   */
  maxFrameLength: number;
  /** Largest Data frame payload we send, bytes. Default 64 KiB. Min 1, max 2^32-1. */
  maxSendFrame: number;
  /** Interval between keepalive pings, ms; 0 disables keepalive. Default 15_000. */
  keepAliveIntervalMs: number;
  /**
   * A keepalive ping unanswered for this long closes the session with KEEPALIVE_TIMEOUT, ms. Default
   * 10_000. Must be > 0 when keepalive is on.
   */
  keepAliveTimeoutMs: number;
  /**
   * Graceful close: how long close() waits for open streams to finish before resetting them, ms.
   * Default 5_000. 0 resets them at once.
   */
  closeTimeoutMs: number;
  /**
   * Per-stream bytes queued by write() but not yet framed (waiting for send window) above which write()
   * returns false, bytes. Default 256 KiB. Min 1.
   */
  writeHighWaterMark: number;
  /**
   * Send a stream's FIN in a WindowUpdate frame of its own instead of on the stream's last frame. Off (the
   * default): a stream opened, written and ended within one tick is one Data frame with SYN|FIN (or, on
   * the accepting side, ACK|FIN), and a FIN never costs a frame while the stream's last frame is still
   * waiting to be written. On: for peers that apply a Data frame's flags before its payload and drop the
   * payload of a Data frame with FIN, as @chainsafe/libp2p-yamux 8 does (specs/interop). Default false.
   */
  separateFin: boolean;
  /**
   * Inbound memory budget of one session, bytes: when the bytes received and not yet consumed, all its
   * streams together (buffered because a stream's listener is paused or not attached yet, or the stream
   * waits to be accepted), reach it, the session stops reading its socket, so TCP pushes back on the
   * peer; reading resumes once consumers bring them down to half of it. A paused session reads no frame
   * at all (no credit, no ping answer) until then. Windows bound each stream; this bounds the session,
   * which windows alone bound only to `maxConcurrentStreams * streamWindow` + growth. The bytes held may
   * exceed it by what was left of the socket read that reached it. Default 16 MiB. Min 1.
   */
  maxBufferedBytes: number;
}

/** A fresh object with every default. */
export function defaultConfig(): MuxConfig {
  return {
    streamWindow: INITIAL_STREAM_WINDOW,
    maxStreamWindow: 16 * 1024 * 1024,
    windowGrowthBudget: 32 * 1024 * 1024,
    maxConcurrentStreams: 4096,
    maxAcceptBacklog: 256,
    maxFrameLength: 16 * 1024 * 1024,
    maxSendFrame: 64 * 1024,
    keepAliveIntervalMs: 15_000,
    keepAliveTimeoutMs: 10_000,
    closeTimeoutMs: 5_000,
    writeHighWaterMark: 256 * 1024,
    separateFin: false,
    maxBufferedBytes: 16 * 1024 * 1024,
  };
}

/** Throws TransportError INVALID_CONFIG naming the first field that is out of range. */
export function verifyConfig(c: MuxConfig): void {
  int(c, 'streamWindow', INITIAL_STREAM_WINDOW, MAX_UINT32);
  int(c, 'maxStreamWindow', c.streamWindow, MAX_UINT32);
  int(c, 'windowGrowthBudget', 0, Number.MAX_SAFE_INTEGER);
  int(c, 'maxConcurrentStreams', 1, MAX_UINT32);
  int(c, 'maxAcceptBacklog', 0, MAX_UINT32);
  int(c, 'maxFrameLength', 1, MAX_UINT32);
  int(c, 'maxSendFrame', 1, MAX_UINT32);
  int(c, 'keepAliveIntervalMs', 0, 2 ** 31 - 1);
  int(c, 'keepAliveTimeoutMs', 0, 2 ** 31 - 1);
  int(c, 'closeTimeoutMs', 0, 2 ** 31 - 1);
  int(c, 'writeHighWaterMark', 1, Number.MAX_SAFE_INTEGER);
  bool(c, 'separateFin');
  int(c, 'maxBufferedBytes', 1, Number.MAX_SAFE_INTEGER);
  if (c.maxFrameLength < c.streamWindow) {
    throw transportError('INVALID_CONFIG', 'mux: maxFrameLength must be >= streamWindow');
  }
  if (c.keepAliveIntervalMs > 0 && c.keepAliveTimeoutMs === 0) {
    throw transportError('INVALID_CONFIG', 'mux: keepAliveTimeoutMs must be > 0 when keepalive is on');
  }
}

/** defaultConfig() overlaid with `partial`, verified. Throws INVALID_CONFIG. */
export function resolveConfig(partial?: Partial<MuxConfig>): MuxConfig {
  const c: MuxConfig = { ...defaultConfig() };
  if (partial) {
    for (const key of Object.keys(c) as (keyof MuxConfig)[]) {
      const v = partial[key];
      if (v !== undefined) (c as unknown as Record<string, unknown>)[key] = v;
    }
  }
  verifyConfig(c);
  return c;
}

function bool(c: MuxConfig, key: keyof MuxConfig): void {
  const v = c[key];
  if (typeof v !== 'boolean') {
    throw transportError('INVALID_CONFIG', `mux: ${key} must be true or false, got ${String(v)}`);
  }
}

function int(c: MuxConfig, key: keyof MuxConfig, min: number, max: number): void {
  const v = c[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw transportError(
      'INVALID_CONFIG',
      `mux: ${key} must be an integer in ${min}..${max}, got ${String(v)}`,
    );
  }
}
