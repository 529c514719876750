/**
 * The records of actor calls (docs/PROTOCOL.md section 5). They are plain objects; the channel layer
 * encodes them (MessagePack, with channel and byte-stream references) — nothing here touches bytes.
 * Keys are one letter because every call carries them.
 *
 * - A call is a DUPLEX stream: the caller's half carries one {@link CallRecord} (with `n`, the actor),
 *   then FIN; the return half carries the reply.
 * - A callback or a ref passed to a peer is a nested channel on which the holder writes CallRecords
 *   (without `n`, with `r`, a reply channel of their own).
 * - A reply starts with its shape: `{ v }` (a value; then FIN), `{ s: <channel> }` (a stream: the items
 *   follow once the caller ends the channel `s`, then FIN), or an ERROR record `{ code, message,
 *   details? }` whose `code` is an RpcError code and `details` a `WireErrorDetails` envelope.
 */
import { type Receiver, Sender } from '../transport/channel/index.js';
import type { CallMetadata } from './context.js';
import { rpcError } from './errors.js';

/** A call, as it travels. */
export interface CallRecord {
  /** The actor's name: on a call stream only. */
  n?: string;
  /** Method name; '' on a callback's channel. */
  m: string;
  /** Arguments, in order. */
  a: unknown[];
  /** Deadline, ms from when the callee reads the call (relative: no shared clock is assumed); absent: none. */
  t?: number;
  /** Metadata: string keys to string values; absent: none. */
  h?: CallMetadata;
  /** The reply channel: on a callback's or ref's channel only (the caller puts a Receiver). */
  r?: Receiver<unknown> | Sender<unknown>;
  /** The key of a keyed actor's activation: on a call stream only; absent for an unkeyed actor. */
  k?: string;
}

/** Largest timeout a call may carry, ms (about 24.8 days: what a Node timer can wait). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Metadata bounds: entries, and characters of a key or a value. */
export const MAX_METADATA_ENTRIES = 64;
export const MAX_METADATA_TEXT = 4096;

/** Longest actor name, characters. */
export const MAX_ACTOR_NAME = 256;

/** Longest key of a keyed actor, characters. */
export const MAX_ACTOR_KEY = 256;

/** A call as the callee validated it. */
export interface ParsedCall {
  /** The actor's name; undefined on a nested channel (the channel is the target). */
  actor: string | undefined;
  method: string;
  args: unknown[];
  timeoutMs: number | undefined;
  metadata: CallMetadata | undefined;
  /** The reply channel of a call on a nested channel. */
  reply: Sender<unknown> | undefined;
  /** The key of a keyed actor (`k`); undefined: none. */
  key: string | undefined;
}

/** The reply Sender of a message on a nested channel, if it has a usable one (so even a bad call can be
 *  answered). */
export function replyOf(message: unknown): Sender<unknown> | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const r = Object.hasOwn(message, 'r') ? (message as { r?: unknown }).r : undefined;
  return r instanceof Sender ? r : undefined;
}

/**
 * Validates a CALL record. `nested`: read on a callback's or ref's channel (needs `r`, no `n`); else
 * on a call stream (needs `n`, no `r`). Throws INVALID_ARGUMENT saying what is wrong.
 */
export function parseCall(message: unknown, nested: boolean): ParsedCall {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) bad('a call must be a map');
  const record = message as Record<string, unknown>;
  const m = own(record, 'm');
  const a = own(record, 'a');
  const t = own(record, 't');
  const h = own(record, 'h');
  const n = own(record, 'n');
  const k = own(record, 'k');
  let reply: Sender<unknown> | undefined;
  let actor: string | undefined;
  if (nested) {
    reply = replyOf(message);
    if (!reply) bad('r must be a reply channel');
    if (n !== undefined) bad('n (actor) is not allowed on a nested channel');
    if (k !== undefined) bad('k (key) is not allowed on a nested channel');
  } else {
    if (typeof n !== 'string' || n.length === 0 || n.length > MAX_ACTOR_NAME) {
      bad(`n (actor) must be a name of 1 to ${MAX_ACTOR_NAME} characters`);
    }
    if (own(record, 'r') !== undefined) bad('r (reply channel) is not allowed on a call stream');
    actor = n;
    if (k !== undefined && (typeof k !== 'string' || k.length === 0 || k.length > MAX_ACTOR_KEY)) {
      bad(`k (key) must be a string of 1 to ${MAX_ACTOR_KEY} characters`);
    }
  }
  if (typeof m !== 'string') bad('m (method) must be a string');
  if (!Array.isArray(a)) bad('a (arguments) must be an array');
  if (t !== undefined && (!Number.isSafeInteger(t) || (t as number) <= 0 || (t as number) > MAX_TIMEOUT_MS)) {
    bad(`t (timeout) must be an integer of ms from 1 to ${MAX_TIMEOUT_MS}`);
  }
  return {
    actor,
    method: m,
    args: a,
    timeoutMs: t as number | undefined,
    metadata: h === undefined ? undefined : parseMetadata(h),
    reply,
    key: k as string | undefined,
  };
}

/** Validates metadata: a map of at most 64 string keys to string values, each at most 4096 characters. */
export function parseMetadata(h: unknown): CallMetadata {
  if (typeof h !== 'object' || h === null || Array.isArray(h)) bad('h (metadata) must be a map');
  const out: Record<string, string> = Object.create(null);
  let count = 0;
  for (const [key, value] of Object.entries(h as Record<string, unknown>)) {
    if (++count > MAX_METADATA_ENTRIES) bad(`h (metadata) has more than ${MAX_METADATA_ENTRIES} entries`);
    if (typeof value !== 'string') bad(`h (metadata) value of ${key} must be a string`);
    if (key.length > MAX_METADATA_TEXT || value.length > MAX_METADATA_TEXT) {
      bad(`h (metadata) keys and values must be at most ${MAX_METADATA_TEXT} characters`);
    }
    out[key] = value;
  }
  return Object.freeze(out);
}

/** The shape of a reply's first record, as the caller reads it; INTERNAL when it is malformed. */
export function parseShape(
  message: unknown,
): { kind: 'value'; value: unknown } | { kind: 'stream'; demand: Sender<unknown> } {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw rpcError('INTERNAL', 'malformed reply: not a map');
  }
  const record = message as Record<string, unknown>;
  const s = own(record, 's');
  if (s !== undefined) {
    if (!(s instanceof Sender)) throw rpcError('INTERNAL', 'malformed reply: s must be a channel');
    return { kind: 'stream', demand: s };
  }
  return { kind: 'value', value: own(record, 'v') };
}

function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function bad(why: string): never {
  throw rpcError('INVALID_ARGUMENT', `malformed call: ${why}`);
}
