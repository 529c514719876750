/**
 * The messages of actor calls (docs/PROTOCOL.md section 5). They are plain objects; the channel layer
 * encodes them (MessagePack, with channel and byte-stream references) — nothing here touches bytes.
 * Keys are one letter because every call carries them.
 *
 * - A top-level mailbox channel starts with an {@link OpenMessage} naming the actor; every later
 *   message on it, and every message on a nested mailbox channel (a callback or a ref passed as an
 *   argument), is a {@link CallMessage}.
 * - A unary call's reply channel carries one {@link UnaryReply}; a stream call's carries the items
 *   themselves. Both end with FIN, or with an ERROR record `{ code, message, details? }` where `code` is
 *   an RpcError code and `details` a `WireErrorDetails` envelope.
 */
import { Receiver, Sender } from '../transport/channel/index.js';
import { rpcError } from './errors.js';

/** First message of a top-level mailbox channel. */
export interface OpenMessage {
  /** The actor's name. */
  n: string;
}

/** What an argument is, when it is not plain data (`x` of a call). */
export const ArgKind = {
  /** Plain data, byte streams included (the channel layer carries those). */
  VALUE: 0,
  /** A stream: the caller put a Sender and pumps items into it; the handler gets the Receiver. */
  STREAM: 1,
  /** A callback: the caller put a Receiver of calls and serves them; the handler gets a function. */
  CALLBACK: 2,
  /** An actor ref: like a callback, but the handler gets a ref whose methods are called by name. */
  REF: 3,
} as const;

export type ArgKind = (typeof ArgKind)[keyof typeof ArgKind];

/** A call, as it travels on a mailbox channel. */
export interface CallMessage {
  /** Method name; '' on a callback's mailbox. */
  m: string;
  /** Arguments, in order. */
  a: unknown[];
  /** The reply channel: the caller puts a Receiver, the callee gets a Sender. */
  r: Receiver<unknown> | Sender<unknown>;
  /** 1 for a stream call (a subscription); absent for a unary call. */
  s?: 1;
  /** Deadline, ms from when the callee reads the call (relative: no shared clock is assumed); absent: none. */
  t?: number;
  /** Kind of each argument, when any is not {@link ArgKind.VALUE}; absent: all plain. */
  x?: ArgKind[];
}

/** The one message on a unary call's reply channel. */
export type UnaryReply =
  /** The handler's value; absent when it returned undefined. */
  | { v?: unknown }
  /** The method returned a stream: the caller should subscribe (a stream call) instead. */
  | { s: 1 };

/** Largest timeout a call may carry, ms (about 24.8 days: what a Node timer can wait). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A call as the callee validated it. */
export interface ParsedCall {
  method: string;
  args: unknown[];
  reply: Sender<unknown>;
  stream: boolean;
  timeoutMs: number | undefined;
  kinds: ArgKind[] | undefined;
}

/** The reply Sender of a message, if it has a usable one (so even a bad call can be answered). */
export function replyOf(message: unknown): Sender<unknown> | undefined {
  const r = (message as { r?: unknown } | null)?.r;
  return r instanceof Sender ? r : undefined;
}

/** Validates a call received on a mailbox channel. Throws INVALID_ARGUMENT saying what is wrong. */
export function parseCall(message: unknown): ParsedCall {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) bad('a call must be a map');
  const { m, a, s, t, x } = message as Record<string, unknown>;
  const reply = replyOf(message);
  if (!reply) bad('r must be a reply channel');
  if (typeof m !== 'string') bad('m (method) must be a string');
  if (!Array.isArray(a)) bad('a (arguments) must be an array');
  if (s !== undefined && s !== 1) bad('s must be 1 or absent');
  if (t !== undefined && (!Number.isSafeInteger(t) || (t as number) <= 0 || (t as number) > MAX_TIMEOUT_MS)) {
    bad(`t (timeout) must be an integer of ms from 1 to ${MAX_TIMEOUT_MS}`);
  }
  let kinds: ArgKind[] | undefined;
  if (x !== undefined) {
    if (!Array.isArray(x) || x.length !== a.length) bad('x must list one kind per argument');
    kinds = x as ArgKind[];
    for (let i = 0; i < kinds.length; i++) checkArg(i, kinds[i], a[i]);
  }
  return { method: m, args: a, reply, stream: s === 1, timeoutMs: t as number | undefined, kinds };
}

/** Validates the first message of a top-level mailbox channel. Throws INVALID_ARGUMENT. */
export function parseOpen(message: unknown): string {
  const n = (message as { n?: unknown } | null)?.n;
  if (typeof n !== 'string' || n.length === 0) bad('a mailbox channel must start with { n: actor name }');
  return n;
}

function checkArg(i: number, kind: unknown, value: unknown): void {
  switch (kind) {
    case ArgKind.VALUE:
      return;
    case ArgKind.STREAM:
      if (!(value instanceof Receiver)) bad(`argument ${i} is a stream but not a channel to read`);
      return;
    case ArgKind.CALLBACK:
    case ArgKind.REF:
      if (!(value instanceof Sender)) bad(`argument ${i} is a callback or ref but not a channel to call`);
      return;
    default:
      bad(`argument ${i} has an unknown kind ${String(kind)}`);
  }
}

function bad(why: string): never {
  throw rpcError('INVALID_ARGUMENT', `malformed call: ${why}`);
}
