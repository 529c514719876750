/**
 * The two contracts of a stream: toward its consumer ({@link StreamListener}) and toward the session
 * that carries it ({@link StreamHost}, internal).
 */
import type { TransportError } from '../errors.js';
import type { ReadBudget } from './budget.js';
import type { MuxConfig } from './config.js';
import type { Outbox } from './outbox.js';
import type { Session } from './session.js';
import type { Stream } from './stream.js';
import type { WindowTuner } from './window.js';

/** The consumer of a stream's inbound side. Exceptions thrown by its callbacks never reach the session. */
export interface StreamListener {
  /** A chunk the listener owns (may keep it). Credit for these bytes is returned to the peer after the call. */
  onData(chunk: Uint8Array): void;
  /**
   * Optional, used instead of onData when present: the bytes `buf[start, end)` (never empty), without a
   * view object made per chunk. The listener owns those bytes and may keep `buf`, but must neither read
   * nor write outside the range (the rest of `buf` is other streams' data and frame headers). Credit for
   * them is returned to the peer after the call, as for onData.
   */
  onDataAt?(buf: Uint8Array, start: number, end: number): void;
  /** The peer half-closed (FIN): no more data. */
  onEnd(): void;
  /** Exactly once, last: both sides finished (undefined), or reset / session ended (the error). The stream has left the table. */
  onClose(err?: TransportError): void;
  /** Queued-unsent bytes fell below writeHighWaterMark. */
  onDrain?(): void;
}

/**
 * @internal What a stream needs from its session: one object per session, shared by all its streams, so a
 * stream holds one reference for all of it.
 */
export interface StreamHost {
  /** The session itself (Stream.session). */
  readonly session: Session;
  readonly config: MuxConfig;
  /** The session's receive-window auto-tuning (growth budget and round-trip estimate). */
  readonly tuner: WindowTuner;
  /** Where the stream queues its frames. */
  readonly outbox: Outbox;
  /** performance.now() when the session began handling the socket read in progress, ms. */
  now: number;
  /** Inbound bytes held by the session's streams (their `buffered` queues), against `maxBufferedBytes`. */
  readonly readBudget: ReadBudget;
  /** Bytes written by the session's streams and not yet framed (their `unsent` queues), all together. */
  unsentBytes: number;
  /** A stream dropped unsent bytes (reset, session end): the session's queued bytes fell. */
  queueFell(): void;
  /** The stream has ended: take it out of the table. */
  remove(stream: Stream): void;
}
