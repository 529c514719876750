/**
 * Errors of the transport layers (connections, multiplexer, channels).
 *
 * Every error that leaves a transport object is a {@link TransportError} with a stable string
 * {@link TransportError.code}. Code matches on `code`, never on message text. Every code is listed,
 * with what causes it and what it closes, in `docs/ERRORS.md`.
 */

/** Stable codes. Adding one means adding it to `docs/ERRORS.md` as well. */
export const TransportErrorCode = {
  // --- multiplexer: session-wide (the session is closed) ---
  /** The peer broke the yamux protocol (bad version, unknown type, bad flags, bad stream id). GoAway code 1. */
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  /** An internal failure of this session. GoAway code 2. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  /** The peer sent more data on a stream than its window allowed. GoAway code 1. */
  WINDOW_EXCEEDED: 'WINDOW_EXCEEDED',
  /** A frame header announced a length above `maxFrameLength`. GoAway code 1. */
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  /** No ping answer (or no traffic) within the keepalive timeout: the peer is gone or stuck. */
  KEEPALIVE_TIMEOUT: 'KEEPALIVE_TIMEOUT',
  /** The peer sent GoAway; new streams are refused, open ones may finish. */
  GO_AWAY: 'GO_AWAY',
  /** The session (or the underlying byte stream) is closed. */
  SESSION_CLOSED: 'SESSION_CLOSED',
  /** The underlying byte stream failed (socket error, EOF in the middle of a frame). */
  CONNECTION_LOST: 'CONNECTION_LOST',

  // --- multiplexer: one stream ---
  /** The stream was reset (RST), by either side. */
  STREAM_RESET: 'STREAM_RESET',
  /** A write or end on a stream whose write side is already closed. */
  STREAM_CLOSED: 'STREAM_CLOSED',
  /** Opening or accepting a stream would exceed `maxConcurrentStreams`. */
  STREAM_LIMIT: 'STREAM_LIMIT',
  /** An inbound stream was refused because `maxAcceptBacklog` streams already wait to be accepted. */
  ACCEPT_BACKLOG: 'ACCEPT_BACKLOG',

  // --- channels: one channel (its stream is reset) ---
  /** A message (length prefix) above `maxMessageSize`. */
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  /** A message that is not valid MessagePack, or a record of an unknown type. */
  DECODE_ERROR: 'DECODE_ERROR',
  /** A message names a stream the peer did not open, opened for another purpose, already claimed, or in the wrong direction. */
  BAD_REFERENCE: 'BAD_REFERENCE',
  /** A message could not be encoded (a value MessagePack cannot carry, or an end that cannot be sent). */
  ENCODE_ERROR: 'ENCODE_ERROR',
  /** Too many channel or byte-stream references in one message, or nested too deep. */
  REFERENCE_LIMIT: 'REFERENCE_LIMIT',
  /** The receiving side cancelled the channel; the sender learns it from its next send. */
  CHANNEL_CANCELLED: 'CHANNEL_CANCELLED',
  /** The sender ended the channel with an error; `remoteCode` holds the peer's code, `details` its details. */
  CHANNEL_ERROR: 'CHANNEL_ERROR',
  /** A Receiver was subscribed to (or iterated) a second time: a channel has exactly one consumer. */
  ALREADY_SUBSCRIBED: 'ALREADY_SUBSCRIBED',

  // --- connections and handshake ---
  /** The peer is not who we trust: unknown client key, no client certificate, or server key not pinned. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** TLS or the hello exchange did not complete within `handshakeTimeoutMs`. */
  HANDSHAKE_TIMEOUT: 'HANDSHAKE_TIMEOUT',
  /** The hello exchange failed: bad magic, malformed hello, or no common protocol version or codec. */
  HANDSHAKE_FAILED: 'HANDSHAKE_FAILED',
  /** The listener is at `maxHandshakes` or `maxConnections`. */
  CONNECTION_LIMIT: 'CONNECTION_LIMIT',
  /** A configuration object failed validation (see the layer's `verifyConfig`). */
  INVALID_CONFIG: 'INVALID_CONFIG',
} as const;

export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

/** The error every transport object rejects, throws or closes with. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  /** The stable code: match on this. */
  readonly code: TransportErrorCode;
  /** For CHANNEL_ERROR: the code the peer sent. For GO_AWAY: the yamux GoAway code as a string. */
  readonly remoteCode: string | undefined;
  /** For CHANNEL_ERROR: the `details` the peer sent (any MessagePack value), else undefined. */
  readonly details: unknown;

  constructor(
    code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown; remoteCode?: string; details?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.remoteCode = options?.remoteCode;
    this.details = options?.details;
  }
}

/** The one factory: `transportError('STREAM_RESET', 'stream 3 was reset by the peer')`. */
export function transportError(
  code: TransportErrorCode,
  message: string,
  options?: { cause?: unknown; remoteCode?: string; details?: unknown },
): TransportError {
  return new TransportError(code, message, options);
}

/** True when `err` is a TransportError, optionally with the given code. */
export function isTransportError(err: unknown, code?: TransportErrorCode): err is TransportError {
  return err instanceof TransportError && (code === undefined || err.code === code);
}
