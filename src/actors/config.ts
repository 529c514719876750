/**
 * Limits and defaults of an actor system, in one place. Deadlines are deliberately NOT here: a call's
 * deadline comes from the call, its method or its actor (see `@method` / `@actor`), never from one
 * system-wide value.
 */
import { transportError } from '../transport/errors.js';

/** Stream overflow policy of a push source whose subscriber is slow (see `@method({ overflow })`). */
export type OverflowPolicy = 'error' | 'drop-oldest' | 'drop-newest';

/** The longest delay a Node timer takes, ms (2^31-1). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Every field has a unit and says what 0 means. */
export interface ActorsConfig {
  /**
   * Calls this node has in flight on one outbound connection, count. Default 1024. One more waits for
   * a slot (oldest first), within its own deadline and signal. 0: no limit.
   */
  maxPendingCalls: number;
  /**
   * Calls one connection may have in progress on this node (queued, running or streaming), count.
   * Default 1024. One more is answered RESOURCE_EXHAUSTED without reaching the actor. 0: no limit.
   */
  maxCallsPerConnection: number;
  /**
   * Bytes queued for one connection's peer and not yet taken by it (replies, stream items, byte
   * streams: the multiplexer's queuedBytes), beyond which this node admits no new call from that
   * connection and reads no new call stream from it, so its calls wait in the multiplexer and TCP pushes
   * back; admission resumes once the queue is down to half. Default 16 MiB (16_777_216). 0: no limit.
   */
  maxConnectionQueuedBytes: number;
  /**
   * The same for all connections of this system together: beyond it, a connection holding more than
   * its share (this over the number of connections) gets no new call admitted until the total is below
   * it again (looked at again every 10 ms). Default 256 MiB (268_435_456). 0: no limit.
   */
  maxQueuedBytes: number;
  /** Messages waiting in one actor's mailbox, count. Default 10_000. One more: RESOURCE_EXHAUSTED. 0: no limit. */
  maxMailbox: number;
  /**
   * Bytes of encoded items a push stream (an Observable result or argument) may queue beyond what the
   * connection took, per subscription, before its items wait unencoded (see `streamBuffer`). Default
   * 32 MiB (33_554_432): `range(0, 1_000_000)` of small objects streams whole. At least 1.
   */
  streamBufferBytes: number;
  /**
   * Items a push stream may queue, unencoded, beyond `streamBufferBytes`, per subscription, when the
   * method sets no `buffer`. Default 1024. At least 1. Checked once per macrotask; beyond it the
   * overflow policy applies. For sources larger than that, use an AsyncIterable, which is paused.
   */
  streamBuffer: number;
  /** What a push stream does when that buffer is full, when the method sets no `overflow`. Default 'error'. */
  overflow: OverflowPolicy;
  /** Wait before the first redial after a failed dial, ms; doubles per failure. Default 100. 0: no wait. */
  reconnectBaseMs: number;
  /** Longest wait between dials, ms. Default 10_000. At least reconnectBaseMs. */
  reconnectMaxMs: number;
  /** Send a failing handler's stack to the caller (`RpcError.remoteStack`). Default false. */
  exposeStackTraces: boolean;
  /**
   * Send the message of an unexpected error (a handler's, a callback's or a stream source's throw that
   * is not an RpcError) to the peer, instead of `internal error (id …)`. For development: messages say
   * what peers should not learn (paths, queries). The code stays INTERNAL, and the error is reported to
   * `onError` with its id all the same. Default false.
   */
  exposeErrorMessages: boolean;
  /**
   * `close()` gives running calls this long in total, ms, counted from when it begins (calls still
   * queued are refused at once); then it aborts them (UNAVAILABLE), runs `onStop` and closes the
   * connections. Default 5_000. 0: cut at once.
   */
  closeTimeoutMs: number;
  /**
   * A connection unused for this long is closed gracefully (GoAway 0), by whichever side notices first,
   * ms. Unused: no call in progress either way (unary or stream), no ref or callback passed across it
   * still held, no reply channel lingering; an open mailbox channel alone does not count. Checked every
   * quarter of it, so the close comes between 1 and 1.25 times this. A ref dials again on its next call.
   * Default 300_000 (5 min). 0: never.
   */
  idleTimeoutMs: number;
}

/** The defaults, documented field by field on {@link ActorsConfig}. */
export function defaultConfig(): ActorsConfig {
  return {
    maxPendingCalls: 1024,
    maxCallsPerConnection: 1024,
    maxMailbox: 10_000,
    maxConnectionQueuedBytes: 16 * 1024 * 1024,
    maxQueuedBytes: 256 * 1024 * 1024,
    streamBufferBytes: 32 * 1024 * 1024,
    streamBuffer: 1024,
    overflow: 'error',
    reconnectBaseMs: 100,
    reconnectMaxMs: 10_000,
    exposeStackTraces: false,
    exposeErrorMessages: false,
    closeTimeoutMs: 5_000,
    idleTimeoutMs: 300_000,
  };
}

const COUNTS = [
  'maxPendingCalls',
  'maxCallsPerConnection',
  'maxMailbox',
  'maxConnectionQueuedBytes',
  'maxQueuedBytes',
  'streamBuffer',
  'streamBufferBytes',
] as const;
const DURATIONS = ['reconnectBaseMs', 'reconnectMaxMs', 'closeTimeoutMs', 'idleTimeoutMs'] as const;

/** Throws TransportError INVALID_CONFIG naming the first bad field. */
export function verifyConfig(c: ActorsConfig): void {
  for (const k of [...COUNTS, ...DURATIONS]) {
    const v = c[k];
    if (!Number.isSafeInteger(v) || v < 0) bad(k, `must be a non-negative integer, got ${String(v)}`);
  }
  if (c.streamBuffer < 1) bad('streamBuffer', 'must be at least 1');
  if (c.streamBufferBytes < 1) bad('streamBufferBytes', 'must be at least 1');
  if (c.idleTimeoutMs > MAX_TIMER_MS) bad('idleTimeoutMs', `must be at most ${MAX_TIMER_MS}`);
  if (c.reconnectMaxMs < c.reconnectBaseMs) bad('reconnectMaxMs', 'must be at least reconnectBaseMs');
  if (!isOverflowPolicy(c.overflow)) bad('overflow', `must be 'error', 'drop-oldest' or 'drop-newest'`);
  if (typeof c.exposeStackTraces !== 'boolean') bad('exposeStackTraces', 'must be a boolean');
  if (typeof c.exposeErrorMessages !== 'boolean') bad('exposeErrorMessages', 'must be a boolean');
}

/** Defaults, overridden by `partial`, verified. */
export function resolveConfig(partial?: Partial<ActorsConfig>): ActorsConfig {
  const c = { ...defaultConfig(), ...partial };
  verifyConfig(c);
  return c;
}

/** True for the three overflow policies. */
export function isOverflowPolicy(v: unknown): v is OverflowPolicy {
  return v === 'error' || v === 'drop-oldest' || v === 'drop-newest';
}

/** A timeout option: a non-negative integer of ms (0: none). Throws INVALID_CONFIG. */
export function verifyTimeout(where: string, v: unknown): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > MAX_TIMER_MS)) {
    bad(where, `timeoutMs must be an integer of ms from 0 to ${MAX_TIMER_MS}, got ${String(v)}`);
  }
}

/**
 * Why a call's `timeoutMs` option cannot be used (it is not 0 to MAX_TIMER_MS ms, what a timer can
 * wait), or undefined when it can (or is absent).
 */
export function badCallTimeout(v: unknown): string | undefined {
  if (v === undefined || (Number.isFinite(v) && (v as number) >= 0 && (v as number) <= MAX_TIMER_MS)) {
    return undefined;
  }
  return `timeoutMs must be a number of ms from 0 to ${MAX_TIMER_MS}, got ${String(v)}`;
}

function bad(field: string, why: string): never {
  throw transportError('INVALID_CONFIG', `actors config: ${field} ${why}`);
}
