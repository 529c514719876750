/**
 * What a node tells others when its own code fails (docs/ERRORS.md 4.1): the ERROR record of a call it
 * serves (an actor's handler, a callback it passed), of a stream result, or of a stream it sends as an
 * argument.
 *
 * - An RpcError goes as it is: code, message, reason, details, and its error id when it has one (an
 *   error forwarded from another node keeps the id under which that node reported it). The errors rxchan
 *   raises itself (deadlines, NOT_FOUND, malformed calls, limits) are RpcErrors, or TransportErrors that
 *   go as `toRpcError` maps them.
 * - Anything else is an unexpected failure of the user's code, whose message may say what the peer must
 *   not learn (a file path, a query). The system's `mapError` may turn it into an RpcError (a domain
 *   error); if it does not, it is MASKED: the peer gets INTERNAL with the message
 *   `internal error (id <id>)` and that id in the envelope (`RpcError.errorId`), and `onError` gets the
 *   original error with the same id. `exposeErrorMessages` sends the original message instead (for
 *   development); the id and the report stay.
 * - `exposeStackTraces` sends the stack of the original throw, whatever it was.
 *
 * A local call (a ref to an actor of the same system) crosses no trust boundary: it gets INTERNAL with
 * the original message and the original error as `cause`, unreported ({@link errorToLocal}).
 */
import { isTransportError } from '../transport/errors.js';
import type { ActorsConfig } from './config.js';
import type { Caller } from './context.js';
import { type WireErrorDetails, writeEnvelope } from './error-envelope.js';
import { RpcError, type RpcErrorCode, toRpcError } from './errors.js';

/** What `onError` learns with a masked error: the id the peer got, and where the error was thrown. */
export interface ErrorInfo {
  /** The id sent to the peer in place of the message (`RpcError.errorId` on its side). */
  readonly errorId: string;
  /** The actor whose handler failed ('' for a callback this node passed); absent for a stream argument. */
  readonly actor?: string;
  /** The method that failed ('' for a callback); absent for a stream argument. */
  readonly method?: string;
  /** The peer that got the masked error: for a served call, its caller. */
  readonly peer?: Caller;
}

/** Where an error was thrown (an {@link ErrorInfo} without its id). */
export type ErrorWhere = Omit<ErrorInfo, 'errorId'>;

/** Turns an application's error into the RpcError its peers should get, or undefined to mask it. */
export type ErrorMapper = (err: unknown) => RpcError | undefined;

/** What {@link errorToWire} needs of the system (its Core has this shape). */
export interface ErrorPolicy {
  readonly config: Pick<ActorsConfig, 'exposeErrorMessages' | 'exposeStackTraces'>;
  readonly mapError: ErrorMapper | undefined;
  /** The system's `onError`. */
  report(err: unknown, info?: ErrorInfo): void;
}

/** An ERROR record's fields: `Sender.error(code, message, details)`. */
export interface WireError {
  code: RpcErrorCode;
  message: string;
  details: WireErrorDetails | undefined;
}

/** A new error id: 16 random bytes, base64url (22 characters). */
export function newErrorId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `bytes` in base64url without padding (RFC 4648 section 5), as Node's Buffer writes it. */
function base64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += BASE64URL[n >> 18]! + BASE64URL[(n >> 12) & 63]! + BASE64URL[(n >> 6) & 63]! + BASE64URL[n & 63]!;
  }
  const left = bytes.length - i;
  if (left === 1) {
    const n = bytes[i]! << 16;
    out += BASE64URL[n >> 18]! + BASE64URL[(n >> 12) & 63]!;
  } else if (left === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += BASE64URL[n >> 18]! + BASE64URL[(n >> 12) & 63]! + BASE64URL[(n >> 6) & 63]!;
  }
  return out;
}

/** The message a peer gets for a masked error. */
export function maskedMessage(errorId: string): string {
  return `internal error (id ${errorId})`;
}

/**
 * What this node writes in an ERROR record for `err`, thrown by its own code at `where` (see the file's
 * comment). Reports a masked error to `policy.report`. Never throws: a throwing `onError` or `mapError`
 * does not stop the answer (what `mapError` threw is reported; the error is masked).
 */
export function errorToWire(err: unknown, policy: ErrorPolicy, where: ErrorWhere = {}): WireError {
  const stack = policy.config.exposeStackTraces && err instanceof Error ? err.stack : undefined;
  const known = err instanceof RpcError || isTransportError(err) ? toRpcError(err) : mapped(err, policy);
  if (known !== undefined) {
    return {
      code: known.code,
      message: known.message,
      details: writeEnvelope({
        details: known.details,
        reason: known.reason,
        errorId: known.errorId,
        remoteStack: stack,
      }),
    };
  }
  const errorId = newErrorId();
  report(policy, err, { ...where, errorId });
  return {
    code: 'INTERNAL',
    message: policy.config.exposeErrorMessages ? messageOf(err) : maskedMessage(errorId),
    details: writeEnvelope({ errorId, remoteStack: stack }),
  };
}

/**
 * The RpcError a local caller gets for `err`: an RpcError or TransportError as `toRpcError` gives it,
 * else what `mapError` makes of it, else INTERNAL with its message and `err` as the cause.
 */
export function errorToLocal(err: unknown, mapError: ErrorMapper | undefined): RpcError {
  if (err instanceof RpcError || isTransportError(err)) return toRpcError(err);
  if (mapError !== undefined) {
    try {
      const e = mapError(err);
      if (e instanceof RpcError) return e;
    } catch {
      // As if it gave nothing: the caller gets the original error as `cause`.
    }
  }
  return toRpcError(err, 'INTERNAL');
}

function mapped(err: unknown, policy: ErrorPolicy): RpcError | undefined {
  const map = policy.mapError;
  if (map === undefined) return undefined;
  try {
    const e = map(err);
    return e instanceof RpcError ? e : undefined;
  } catch (bug) {
    report(policy, bug);
    return undefined;
  }
}

function report(policy: ErrorPolicy, err: unknown, info?: ErrorInfo): void {
  try {
    policy.report(err, info);
  } catch {
    // `onError` is the last place an error can go: one that throws is not allowed to stop the answer.
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
