/**
 * Errors seen by users of actors: every call that fails rejects (or errors, for a stream) with an
 * {@link RpcError} carrying one of the stable {@link RpcErrorCode}s, whether the failure happened in the
 * handler, in the actor system, or in the transport below. Code matches on `code`, never on message text.
 *
 * On the wire an RpcError is the ERROR record of the call's reply channel (docs/PROTOCOL.md section 5):
 * `code` is the RpcError code, `details` the envelope of error-envelope.ts. What a node sends for an
 * error of its own code is decided in error-policy.ts (unexpected errors are masked).
 */
import { isTransportError, type TransportError, type TransportErrorCode } from '../transport/errors.js';
import { readEnvelope } from './error-envelope.js';

/**
 * Stable codes, gRPC's (the same names and meanings). Every one is listed in docs/PROTOCOL.md 5.6 and
 * docs/ERRORS.md 4. rxchan itself raises CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED,
 * NOT_FOUND, PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNAVAILABLE, UNAUTHENTICATED, INTERNAL and
 * UNIMPLEMENTED; the others are for handlers' domain errors.
 */
export const RpcErrorCode = {
  /** The caller cancelled the call (AbortSignal, unsubscribe), or the peer cancelled a channel of it. */
  CANCELLED: 'CANCELLED',
  /** A peer's ERROR record with a code that is not one of these; a local handler's non-RpcError throw. */
  UNKNOWN: 'UNKNOWN',
  /** The call was malformed: bad arguments, a value that cannot be sent, a stream awaited as a value. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The call's deadline passed before it finished (on either side). */
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  /** No actor is registered under that name. */
  NOT_FOUND: 'NOT_FOUND',
  /** The caller's identity is not allowed to call this actor or method. */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** A limit was reached: pending calls, mailbox size, a stream's buffer, a message size. */
  RESOURCE_EXHAUSTED: 'RESOURCE_EXHAUSTED',
  /** The peer cannot be reached, the connection was lost, or the actor is not running. Retrying may help. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The peer would not accept our identity, or we would not accept its. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /**
   * A bug or broken invariant in rxchan or in the peer's messages; or the peer's handler threw
   * something that is not an RpcError (masked: see `RpcError.errorId`).
   */
  INTERNAL: 'INTERNAL',
  /** The actor has no such method. */
  UNIMPLEMENTED: 'UNIMPLEMENTED',
  /** Domain: the system is not in the state the call needs (out of stock, a non-empty directory). */
  FAILED_PRECONDITION: 'FAILED_PRECONDITION',
  /** Domain: what the call would create exists already. */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /** Domain: the call lost a concurrency conflict (a transaction aborted, a version changed); retry higher up. */
  ABORTED: 'ABORTED',
  /** Domain: a value past the valid range (reading past the end, a page beyond the last). */
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  /** Domain: data was lost or corrupted, unrecoverably. */
  DATA_LOSS: 'DATA_LOSS',
} as const;

export type RpcErrorCode = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

const CODES = new Set<string>(Object.values(RpcErrorCode));

/** True when `code` is one of the {@link RpcErrorCode}s. */
export function isRpcErrorCode(code: unknown): code is RpcErrorCode {
  return typeof code === 'string' && CODES.has(code);
}

/** Options of {@link RpcError}. */
export interface RpcErrorOptions {
  /** Anything the handler wants the caller to see (it travels as MessagePack data). */
  details?: unknown;
  /**
   * A stable, machine-readable reason within the code (google.rpc.ErrorInfo's `reason`): by convention
   * UPPER_SNAKE_CASE, like `'OUT_OF_STOCK'`; 1 to 128 characters (a longer one is not sent).
   */
  reason?: string;
  /** The local cause (never sent). */
  cause?: unknown;
  /** The handler's stack, when the serving system enables `exposeStackTraces`. */
  remoteStack?: string;
  /** The id under which the node that raised it reported the original error (set by rxchan). */
  errorId?: string;
}

/**
 * The error of a failed call.
 *
 * @example
 * ```ts
 * try {
 *   await calc.divide(1, 0);
 * } catch (err) {
 *   if (isRpcError(err, 'INVALID_ARGUMENT')) console.log(err.code, err.details);
 * }
 * // Logs:
 * // INVALID_ARGUMENT { divisor: 0 }
 * ```
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  /** The stable code: match on this. */
  readonly code: RpcErrorCode;
  /** What the thrower attached with `new RpcError(code, message, { details })`, if anything. */
  readonly details: unknown;
  /** The thrower's machine-readable reason within the code (`'OUT_OF_STOCK'`), if it gave one. */
  readonly reason: string | undefined;
  /** The remote handler's stack, only when the serving system sets `exposeStackTraces`. */
  readonly remoteStack: string | undefined;
  /**
   * For an error the peer masked (INTERNAL: its code threw something that is not an RpcError), the id
   * under which the peer reported the original error to its `onError`: quote it to find that error in
   * the peer's logs.
   */
  readonly errorId: string | undefined;

  constructor(code: RpcErrorCode, message: string, options?: RpcErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
    this.reason = options?.reason;
    this.remoteStack = options?.remoteStack;
    this.errorId = options?.errorId;
  }
}

/** The one factory: `rpcError('NOT_FOUND', 'no actor named "calc"')`. */
export function rpcError(code: RpcErrorCode, message: string, options?: RpcErrorOptions): RpcError {
  return new RpcError(code, message, options);
}

/** True when `err` is an RpcError, optionally with the given code. */
export function isRpcError(err: unknown, code?: RpcErrorCode): err is RpcError {
  return err instanceof RpcError && (code === undefined || err.code === code);
}

/**
 * How each transport code surfaces to a caller. CHANNEL_ERROR is special: it carries the peer's code.
 * Partial on purpose: a code added to the transport later maps to UNKNOWN until it is listed here.
 */
const FROM_TRANSPORT: Partial<Record<TransportErrorCode, RpcErrorCode>> = {
  PROTOCOL_ERROR: 'UNAVAILABLE',
  INTERNAL_ERROR: 'UNAVAILABLE',
  WINDOW_EXCEEDED: 'UNAVAILABLE',
  FRAME_TOO_LARGE: 'UNAVAILABLE',
  KEEPALIVE_TIMEOUT: 'UNAVAILABLE',
  GO_AWAY: 'UNAVAILABLE',
  SESSION_CLOSED: 'UNAVAILABLE',
  CONNECTION_LOST: 'UNAVAILABLE',
  STREAM_RESET: 'UNAVAILABLE',
  STREAM_CLOSED: 'INTERNAL',
  STREAM_LIMIT: 'RESOURCE_EXHAUSTED',
  ACCEPT_BACKLOG: 'RESOURCE_EXHAUSTED',
  MESSAGE_TOO_LARGE: 'RESOURCE_EXHAUSTED',
  DECODE_ERROR: 'INTERNAL',
  BAD_REFERENCE: 'INTERNAL',
  ENCODE_ERROR: 'INVALID_ARGUMENT',
  REFERENCE_LIMIT: 'RESOURCE_EXHAUSTED',
  CHANNEL_CANCELLED: 'CANCELLED',
  CHANNEL_ERROR: 'UNKNOWN',
  ALREADY_SUBSCRIBED: 'INTERNAL',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  HANDSHAKE_TIMEOUT: 'UNAVAILABLE',
  HANDSHAKE_FAILED: 'UNAVAILABLE',
  CONNECTION_LIMIT: 'UNAVAILABLE',
  INVALID_CONFIG: 'INVALID_ARGUMENT',
};

/**
 * The RpcError a caller sees for `err`: an RpcError as it is; a TransportError mapped by its code (a
 * CHANNEL_ERROR becomes the error the peer sent: its code, message and the well-formed fields of its
 * details envelope, see error-envelope.ts); an AbortSignal's reason that is an RpcError as it is;
 * anything else `fallback` (UNKNOWN by default) with its message. This is for errors a caller sees;
 * what a node SENDS for an error of its own code is errorToWire's (error-policy.ts), which masks.
 */
export function toRpcError(err: unknown, fallback: RpcErrorCode = 'UNKNOWN'): RpcError {
  if (err instanceof RpcError) return err;
  if (isTransportError(err)) return fromTransport(err);
  const message = err instanceof Error ? err.message : String(err);
  return new RpcError(fallback, message, { cause: err });
}

function fromTransport(err: TransportError): RpcError {
  if (err.code === 'CHANNEL_ERROR') {
    const code = isRpcErrorCode(err.remoteCode) ? err.remoteCode : 'UNKNOWN';
    const envelope = readEnvelope(err.details);
    return new RpcError(code, err.message, { cause: err, ...envelope });
  }
  return new RpcError(FROM_TRANSPORT[err.code] ?? 'UNKNOWN', err.message, { cause: err });
}
