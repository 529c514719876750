/**
 * Interceptors: code that runs around every call, on the side that serves it and on the side that
 * makes it, in the order they were given to the {@link ActorSystem} (`interceptors` option). They are
 * the framework's middleware: logging, authentication of a token in the metadata, rate limits,
 * tracing (the OpenTelemetry integration is a pair of them), retries, default deadlines.
 *
 * A server interceptor runs inside the call's scope and inside the actor's turn, just before the
 * handler (after the built-in checks: the connection's limits, the actor, the method, the `allow` lists
 * and the deadline), so `callContext()` works in it and an asynchronous interceptor holds the mailbox as
 * the handler would. It calls `next()` to run the next interceptor, and in the end the handler (with
 * the arguments checked by the method's schemas, if it declares any), and returns what `next()` returned
 * (a value, a promise, an Observable or an AsyncIterable), or something else in its place. Throwing
 * refuses the call: the caller gets the error (an {@link RpcError} as it is).
 *
 * A client interceptor runs when a ref's method is called, before anything is sent. It calls
 * `next(call)` with the call as it should go out (the same, or changed: more metadata, another
 * deadline) and returns the {@link Call} `next` gave, or a promise (a retry: call `next` again when the
 * first attempt fails), or a plain value (a cache). Throwing fails the call.
 *
 * @example
 * ```ts
 * const requestIds: Interceptors = {
 *   client: (call, next) =>
 *     next({ ...call, options: { ...call.options, metadata: { ...call.options.metadata, 'request-id': randomUUID() } } }),
 *   server: (call, next) => {
 *     const started = performance.now();
 *     call.onEnd((end) => log(call.context.metadata['request-id'], end.code, performance.now() - started));
 *     return next();
 *   },
 * };
 * const system = new ActorSystem({ identity, authorizedKeys, interceptors: [requestIds] });
 * ```
 */

import { transportError } from '../transport/errors.js';
import type { Call } from './caller/call.js';
import type { Peer } from './caller/client.js';
import type { CallContext } from './context.js';
import type { RpcError, RpcErrorCode } from './errors.js';
import type { CallOptions } from './types.js';

/** How a call ended, as `onEnd` listeners hear it. */
export interface CallEnd {
  /** 'OK' when the call succeeded: its value was answered, or its stream completed. */
  readonly code: 'OK' | RpcErrorCode;
  /** Why it failed, when `code` is not 'OK'. */
  readonly error?: RpcError;
  /** The result was a stream (an Observable or AsyncIterable), not a value. */
  readonly stream: boolean;
}

/** Hears how a call ended; called once. An exception it throws is reported, and changes nothing. */
export type CallEndListener = (end: CallEnd) => void;

/** One call being served, as server interceptors see it. */
export interface IncomingCall {
  /** What the handler will see: caller, actor, method, deadline, signal, metadata. */
  readonly context: CallContext;
  /** The arguments as they arrived (before the method's schemas, if any). Data from the peer. */
  readonly args: readonly unknown[];
  /** When the call arrived, in `performance.now()` ms: before it waited in the mailbox. */
  readonly receivedAt: number;
  /**
   * Hear how the call ends: its value answered, its stream ended (completed, failed, or cancelled by
   * the caller), or its failure. Listeners run once, in the order added, after the answer was written.
   */
  onEnd(listener: CallEndListener): void;
}

/**
 * Around each served call. Returns what `next()` returns (or a replacement); throws to refuse. `next`
 * may be called once; `next(args)` passes other arguments on (e.g. decoded ones).
 */
export type ServerInterceptor = (call: IncomingCall, next: (args?: readonly unknown[]) => unknown) => unknown;

/** One call about to be made, as client interceptors see it. Immutable: pass a changed copy to `next`. */
export interface OutgoingCall {
  /** The actor's name; '' for a call through a ref or callback a peer passed us. */
  readonly actor: string;
  /** The method; '' for a callback. */
  readonly method: string;
  readonly args: readonly unknown[];
  /** The call's options: `timeoutMs`, `signal`, `detached`, `metadata`. */
  readonly options: CallOptions;
  /** Where the actor lives, for a ref by name to a peer; undefined for local refs and passed ones. */
  readonly peer: Peer | undefined;
}

/**
 * Around each call a ref makes. Returns the {@link Call} `next` gave, a promise of the result (its
 * value, or for a stream method the stream awaiting a Call gives), or a plain value.
 */
export type ClientInterceptor = (
  call: OutgoingCall,
  next: (call: OutgoingCall) => Call<unknown>,
) => Call<unknown> | PromiseLike<unknown> | unknown;

/** A pair of interceptors, either optional: what `ActorSystemOptions.interceptors` lists. */
export interface Interceptors {
  readonly server?: ServerInterceptor;
  readonly client?: ClientInterceptor;
}

/** The system's interceptors by side, in order (internal: what invokers and served calls read). */
export interface InterceptorChains {
  readonly server: readonly ServerInterceptor[];
  readonly client: readonly ClientInterceptor[];
}

/** Split `list` by side, keeping the order. Throws INVALID_CONFIG for something that is not one. */
export function interceptorChains(list: readonly Interceptors[] | undefined): InterceptorChains {
  const server: ServerInterceptor[] = [];
  const client: ClientInterceptor[] = [];
  for (const [i, item] of (list ?? []).entries()) {
    if (typeof item !== 'object' || item === null) {
      throw transportError('INVALID_CONFIG', `interceptors[${i}] must be an object { server?, client? }`);
    }
    const { server: s, client: c } = item;
    if (s !== undefined && typeof s !== 'function') {
      throw transportError('INVALID_CONFIG', `interceptors[${i}].server must be a function`);
    }
    if (c !== undefined && typeof c !== 'function') {
      throw transportError('INVALID_CONFIG', `interceptors[${i}].client must be a function`);
    }
    if (s !== undefined) server.push(s);
    if (c !== undefined) client.push(c);
  }
  return { server, client };
}
