/**
 * Errors seen by users of actors: every call that fails rejects (or errors, for a stream) with an
 * {@link RpcError} carrying one of the stable {@link RpcErrorCode}s, whether the failure happened in the
 * handler, in the actor system, or in the transport below. Code matches on `code`, never on message text.
 *
 * On the wire an RpcError is the ERROR record of the call's reply channel (docs/PROTOCOL.md section 5):
 * `code` is the RpcError code, `details` the {@link WireErrorDetails} envelope.
 */
import { isTransportError, type TransportError, type TransportErrorCode } from '../transport/errors.js';

/** Stable codes, gRPC-style. Every one is listed in docs/PROTOCOL.md section 5. */
export const RpcErrorCode = {
  /** The caller cancelled the call (AbortSignal, unsubscribe), or the peer cancelled a channel of it. */
  CANCELLED: 'CANCELLED',
  /** The handler threw something that is not an RpcError; its message is kept. */
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
  /** A bug or broken invariant in rxchan or in the peer's messages. */
  INTERNAL: 'INTERNAL',
  /** The actor has no such method. */
  UNIMPLEMENTED: 'UNIMPLEMENTED',
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
  /** The local cause (never sent). */
  cause?: unknown;
  /** The handler's stack, when the serving system enables `exposeStackTraces`. */
  remoteStack?: string;
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
  /** The remote handler's stack, only when the serving system sets `exposeStackTraces`. */
  readonly remoteStack: string | undefined;

  constructor(code: RpcErrorCode, message: string, options?: RpcErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
    this.remoteStack = options?.remoteStack;
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
 * CHANNEL_ERROR becomes the error the peer sent: its code, message and details envelope); an AbortSignal's
 * reason that is an RpcError as it is; anything else `fallback` (UNKNOWN by default) with its message.
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

/**
 * The `details` field of a call's ERROR record (docs/PROTOCOL.md section 5.4): the RpcError's details and,
 * only when the serving system sets `exposeStackTraces`, the handler's stack.
 */
export interface WireErrorDetails {
  details?: unknown;
  stack?: string;
}

/** What a server writes in the ERROR record of a reply channel for `err`. */
export function errorToWire(
  err: unknown,
  exposeStack: boolean,
): { code: RpcErrorCode; message: string; details: WireErrorDetails | undefined } {
  const rpc = toRpcError(err);
  const envelope: WireErrorDetails = {};
  if (rpc.details !== undefined) envelope.details = rpc.details;
  // The stack of the original throw, not of the RpcError made around it.
  const stack = err instanceof Error ? err.stack : undefined;
  if (exposeStack && stack !== undefined) envelope.stack = stack;
  const empty = envelope.details === undefined && envelope.stack === undefined;
  return { code: rpc.code, message: rpc.message, details: empty ? undefined : envelope };
}

function readEnvelope(value: unknown): { details?: unknown; remoteStack?: string } {
  if (typeof value !== 'object' || value === null) return {};
  const { details, stack } = value as WireErrorDetails;
  return typeof stack === 'string' ? { details, remoteStack: stack } : { details };
}
