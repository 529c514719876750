/**
 * What the ends (Sender, Receiver, byte streams) need from the session that binds them, and the symbols
 * that keep binding out of the public API. Internal: not exported from index.ts.
 */
import type { ChannelConfig } from './config.js';
import type { ErrorBody } from './message-codec.js';

/** Binds an unbound end to a session's stream. Symbol-keyed so it is not part of the public surface. */
export const kBind: unique symbol = Symbol('rxchan.channel.bind');
/** True once an end is bound (or being bound) to a stream. */
export const kBound: unique symbol = Symbol('rxchan.channel.bound');

/** An encoded MESSAGE record whose references' streams are open (SYN queued) but whose ends are not bound. */
export interface OutboundRecord {
  readonly bytes: Uint8Array;
  /** After the record is written: bind every end the message carried to its stream. */
  commit(): void;
  /** The record will not be written: reset the streams opened for it (the ends stay unbound). */
  abort(): void;
}

/** The session side of every bound end. */
export interface ChannelHost {
  readonly config: ChannelConfig;
  /** Encode a message and open its references' streams. Throws TransportError (ENCODE_ERROR,
   *  REFERENCE_LIMIT, MESSAGE_TOO_LARGE, or the multiplexer's STREAM_LIMIT / SESSION_CLOSED / GO_AWAY). */
  encode(message: unknown): OutboundRecord;
  /** An ERROR record; details that cannot be encoded are dropped. */
  encodeError(code: string, message: string, details: unknown): Uint8Array;
  /** Decode a MESSAGE body, claiming the streams it names (all or none). Throws TransportError
   *  (DECODE_ERROR, REFERENCE_LIMIT, BAD_REFERENCE). */
  decode(body: Uint8Array): unknown;
  /** Decode an ERROR body. Throws TransportError (DECODE_ERROR, BAD_REFERENCE). */
  decodeError(body: Uint8Array): ErrorBody;
}
