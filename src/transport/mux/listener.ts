/**
 * The two contracts of a stream: toward its consumer ({@link StreamListener}) and toward the session
 * that carries it ({@link StreamHost}, internal).
 */
import type { TransportError } from '../errors.js';
import type { MuxConfig } from './config.js';
import type { Stream } from './stream.js';
import type { WindowTuner } from './window.js';

/** The consumer of a stream's inbound side. Exceptions thrown by its callbacks never reach the session. */
export interface StreamListener {
  /** A chunk the listener owns (may keep it). Credit for these bytes is returned to the peer after the call. */
  onData(chunk: Uint8Array): void;
  /** The peer half-closed (FIN): no more data. */
  onEnd(): void;
  /** Exactly once, last: both sides finished (undefined), or reset / session ended (the error). The stream has left the table. */
  onClose(err?: TransportError): void;
  /** Queued-unsent bytes fell below writeHighWaterMark. */
  onDrain?(): void;
}

/** @internal What a stream needs from its session's writer and table. */
export interface StreamHost {
  readonly config: MuxConfig;
  /** The session's receive-window auto-tuning (growth budget and round-trip estimate). */
  readonly tuner: WindowTuner;
  /** Queue a frame without payload. */
  frame(type: number, flags: number, streamId: number, length: number): void;
  /** Queue a Data frame (payload referenced or copied by the writer). */
  data(flags: number, streamId: number, payload: Uint8Array): void;
  /** The stream has ended: take it out of the table. */
  remove(stream: Stream): void;
}
