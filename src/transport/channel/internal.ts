/**
 * What the ends (Sender, Receiver, byte streams) need from the session that binds them, and the symbols
 * that keep binding out of the public API. Internal: not exported from index.ts.
 */
import type { TransportError } from '../errors.js';
import type { ChannelConfig } from './config.js';
import type { ReferenceGate } from './gate.js';
import type { ErrorBody } from './message-codec.js';
import type { StreamPort } from './port.js';
import type { Preface } from './preface.js';
import type { RecordParser } from './record.js';

/** Binds an unbound end to a session's stream. Symbol-keyed so it is not part of the public surface. */
export const kBind: unique symbol = Symbol('rxchan.channel.bind');
/** True once an end is bound (or being bound) to a stream, or abandoned. */
export const kBound: unique symbol = Symbol('rxchan.channel.bound');
/**
 * Ends an unbound end whose message failed after it was accepted (see {@link ChannelHost.abandon}):
 * a Receiver errors with the reason, a Sender is over with it. Nothing may bind it afterwards.
 */
export const kAbandon: unique symbol = Symbol('rxchan.channel.abandon');
/**
 * Binds an end to a stream whose port it shares with the other end of a DUPLEX stream: the end does not
 * attach itself to the port; it returns its port handler, which the duplex binding composes (duplex.ts).
 */
export const kBindShared: unique symbol = Symbol('rxchan.channel.bindShared');
/** Writes a record the host encoded for a bound Sender's stream, as write() would (see duplex.ts). */
export const kWriteEncoded: unique symbol = Symbol('rxchan.channel.writeEncoded');
/** ChannelSession's one-record DUPLEX opener (see {@link openDuplexCall} in session.ts). */
export const kOpenDuplexCall: unique symbol = Symbol('rxchan.channel.openDuplexCall');

/**
 * An encoded MESSAGE record and the ends it carries, whose streams are not open yet: the placeholders at
 * `idOffsets` get the stream ids when {@link ChannelHost.write} opens them, right before the record.
 */
export interface PreparedRecord {
  bytes: Uint8Array;
  /** Offset in `bytes` of each reference's stream id, in the order of `ends`. */
  readonly idOffsets: number[];
  readonly ends: object[];
  readonly prefaces: Preface[];
  /** True for a copy made by {@link ChannelHost.hold} (its ends are reserved until written or released). */
  readonly held?: boolean;
}

/** The session side of every bound end. */
export interface ChannelHost {
  readonly config: ChannelConfig;
  /** Keeps reference SYNs from running ahead of their records (see gate.ts). */
  readonly gate: ReferenceGate;
  /** A parser Receivers borrow for chunks of whole records; undefined while one is using it. */
  sharedParser: RecordParser | undefined;
  /**
   * Encode a message. The result is the host's scratch, valid until the next encode: write it at once or
   * {@link hold} it. Throws TransportError (ENCODE_ERROR, REFERENCE_LIMIT, MESSAGE_TOO_LARGE).
   */
  encode(message: unknown): PreparedRecord;
  /** A copy of `record` that can wait; its ends count as taken (a second message cannot carry them). */
  hold(record: PreparedRecord): PreparedRecord;
  /** A held record that will never be written: its ends are free again (they stay unbound). */
  release(record: PreparedRecord): void;
  /**
   * A held record that failed after send()/write() had accepted it, with no caller left to tell (write()):
   * release it and end its ends with `reason` (Receiver errors, Sender is over, byte streams destroyed),
   * so nothing waits on an end that can never be bound. Never throws.
   */
  abandon(record: PreparedRecord, reason: TransportError): void;
  /**
   * Open the streams of the record's ends (SYN queued), write the record on `port`, then bind the ends.
   * Returns port.write's answer (false: above the write high-water mark). Throws the multiplexer's
   * STREAM_LIMIT / SESSION_CLOSED / GO_AWAY from opening, or the write's error; the streams opened for
   * it are reset then, and the ends stay unbound.
   */
  write(port: StreamPort, record: PreparedRecord): boolean;
  /** An ERROR record; details that cannot be encoded are dropped. */
  encodeError(code: string, message: string, details: unknown): Uint8Array;
  /** Decode the MESSAGE body `bytes[start, start + length)`, claiming the streams it names (all or none).
   *  Throws TransportError (DECODE_ERROR, REFERENCE_LIMIT, BAD_REFERENCE). */
  decode(bytes: Uint8Array, start: number, length: number): unknown;
  /** Decode an ERROR body. Throws TransportError (DECODE_ERROR, BAD_REFERENCE). */
  decodeError(body: Uint8Array): ErrorBody;
}
