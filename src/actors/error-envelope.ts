/**
 * The `details` field of a call's ERROR record (docs/PROTOCOL.md 5.3): a MessagePack map, the envelope
 * around what an RpcError carries besides its code and message. Every key is optional, and a reader
 * ignores keys it does not know:
 *
 * | key       | type                          | what                                                        |
 * |-----------|-------------------------------|-------------------------------------------------------------|
 * | `details` | any                           | the thrower's `details`                                     |
 * | `reason`  | string, 1 to 128 characters   | the thrower's machine-readable `reason` (`'OUT_OF_STOCK'`)   |
 * | `id`      | string, 1 to 64 characters    | the error id: the sender reported the error under it        |
 * | `stack`   | string                        | the thrower's stack, only with `exposeStackTraces`          |
 *
 * The envelope comes from a peer: {@link readEnvelope} takes what is well formed and drops the rest, so
 * a peer cannot make the caller's error anything but an RpcError with bounded fields.
 */

/** The longest `reason` an envelope may carry, characters. */
export const MAX_ERROR_REASON_LENGTH = 128;
/** The longest error `id` an envelope may carry, characters. */
export const MAX_ERROR_ID_LENGTH = 64;

/** The envelope as it travels (see the table above). */
export interface WireErrorDetails {
  details?: unknown;
  reason?: string;
  id?: string;
  stack?: string;
}

/** What an envelope gives the caller's RpcError (the {@link RpcErrorOptions} it is made with). */
export interface EnvelopeFields {
  details?: unknown;
  reason?: string;
  errorId?: string;
  remoteStack?: string;
}

/** True for a string of 1 to `max` characters. */
export function isBoundedString(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}

/**
 * The envelope for these fields, or undefined when there is nothing to send. A `reason` or `errorId`
 * out of bounds is left out (a receiver would drop it anyway).
 */
export function writeEnvelope(f: EnvelopeFields): WireErrorDetails | undefined {
  const out: WireErrorDetails = {};
  let any = false;
  if (f.details !== undefined) {
    out.details = f.details;
    any = true;
  }
  if (isBoundedString(f.reason, MAX_ERROR_REASON_LENGTH)) {
    out.reason = f.reason;
    any = true;
  }
  if (isBoundedString(f.errorId, MAX_ERROR_ID_LENGTH)) {
    out.id = f.errorId;
    any = true;
  }
  if (typeof f.remoteStack === 'string') {
    out.stack = f.remoteStack;
    any = true;
  }
  return any ? out : undefined;
}

/**
 * The fields of a peer's envelope. Never throws: anything but a map gives nothing; a `reason` or `id`
 * that is not a string within its bound, or a `stack` that is not a string, is dropped; `details` is
 * taken as it is (it is data the thrower chose, bounded like every record by `maxMessageSize`).
 */
export function readEnvelope(value: unknown): EnvelopeFields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const { details, reason, id, stack } = value as Record<string, unknown>;
  const out: EnvelopeFields = {};
  if (details !== undefined) out.details = details;
  if (isBoundedString(reason, MAX_ERROR_REASON_LENGTH)) out.reason = reason;
  if (isBoundedString(id, MAX_ERROR_ID_LENGTH)) out.errorId = id;
  if (typeof stack === 'string') out.remoteStack = stack;
  return out;
}
