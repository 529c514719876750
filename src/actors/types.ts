/**
 * The typed face of a ref, computed from the actor class with mapped types (no code generation):
 *
 * | the actor's method returns           | the ref's method returns                                  |
 * |--------------------------------------|-----------------------------------------------------------|
 * | `R` or `Promise<R>`                  | `Promise<R>`                                              |
 * | `Observable<T>` / `AsyncIterable<T>` | `RemoteCall<T>`: subscribe or iterate it, or await it for a `RemoteStream<T>` |
 * | a `Ref<U>` (also inside values)      | `Promise<Ref<U>>`                                         |
 *
 * A method's parameters are the ref's parameters, as declared: the call's context is not a parameter
 * (handlers read it with `callContext()`). Lifecycle hooks (`onStart`, `onStop`), `constructor`,
 * Object.prototype's member names (`toString`, `valueOf`, ...), `then`, names starting with `_`, and
 * `withOptions` (reserved for the ref itself) are not callable through a ref; neither are getters,
 * setters and symbol-named methods. TypeScript's `private` is NOT enforced on the wire: a peer may call
 * a `private` method by name (the type hides it, the server does not). Name it `_like_this`, or use
 * `#private` methods, to keep it unreachable.
 */
import type { Readable } from 'node:stream';
import type { Observable } from 'rxjs';
import type { CallMetadata } from './context.js';

/** Marks a ref; `isRef(x)` checks it. */
export const REF: unique symbol = Symbol('rxchan.Ref');

/**
 * A stream result: an Observable (the first subscription reads the call's items; unsubscribing cancels
 * it on the server; a later subscription makes a new call) that is also an async iterable (pulling: the
 * server's source is paused while you do not read).
 */
export type RemoteStream<T> = Observable<T> & AsyncIterable<T>;

/**
 * What a ref's stream method returns: one call, started at once. Subscribe to it or iterate it to read
 * the items, or await it to get the {@link RemoteStream} (the same call's items, read when subscribed).
 */
export type RemoteCall<T> = RemoteStream<T> & PromiseLike<RemoteStream<T>>;

/** Per-call options, set with `ref.withOptions(...)` or `system.ref(name, peer, options)`. */
export interface CallOptions {
  /**
   * Deadline of the call, ms from now. A call made inside a handler also keeps its handler's remaining
   * deadline (the earlier of the two wins) unless `detached`. 0 or absent: the callee's default applies
   * (the method's, else for a unary call the actor's), or none.
   */
  timeoutMs?: number;
  /** Aborting it cancels the call (CANCELLED): the promise rejects, the stream errors, the server is told. */
  signal?: AbortSignal;
  /**
   * A call made inside a handler inherits the handler's deadline and cancellation (it fails when the
   * handler's call is cancelled or runs out of time). `true` detaches it: only its own options apply.
   */
  detached?: boolean;
  /**
   * Metadata sent with every call (the CALL record's `h`): string keys and values, such as a request id.
   * The handler reads it as `callContext().metadata`. Not inherited by calls the handler makes.
   */
  metadata?: CallMetadata;
  /**
   * The key of a keyed actor's activation (the CALL record's `k`; `callContext().key` on the callee).
   * Set by `system.ref(name, key)`; 1 to 256 characters. A keyed actor refuses a call without it, an
   * unkeyed one a call with it (INVALID_ARGUMENT). Ignored on calls through refs and callbacks a peer
   * passed (their channel is the target).
   */
  key?: string;
}

type IsAny<T> = 0 extends 1 & T ? true : false;

/** What a caller gets for a handler returning `R` (see the table above). */
export type RemoteResult<R> = [R] extends [never]
  ? Promise<never>
  : IsAny<R> extends true
    ? // biome-ignore lint/suspicious/noExplicitAny: an untyped handler gives an untyped result
      Promise<any>
    : Awaited<R> extends Observable<infer U>
      ? RemoteCall<U>
      : Awaited<R> extends Readable | ReadableStream | Blob
        ? Promise<Awaited<R>>
        : Awaited<R> extends AsyncIterable<infer U>
          ? RemoteCall<U>
          : Promise<Awaited<R>>;

/** Names of `T` that are not callable through a ref. */
export type HiddenName =
  | 'constructor'
  | 'onStart'
  | 'onStop'
  | 'withOptions'
  | 'then'
  | 'toJSON'
  | 'toString'
  | 'toLocaleString'
  | 'valueOf'
  | 'hasOwnProperty'
  | 'isPrototypeOf'
  | 'propertyIsEnumerable'
  | `_${string}`;

// biome-ignore lint/suspicious/noExplicitAny: a function of any signature
type AnyFunction = (...args: any[]) => any;

/** The callable methods of `T`, as a ref shows them. */
export type RemoteMethods<T> = {
  readonly [K in keyof T as K extends HiddenName
    ? never
    : K extends string
      ? T[K] extends AnyFunction
        ? K
        : never
      : never]: T[K] extends (...args: infer A) => infer R ? (...args: A) => RemoteResult<R> : never;
};

/** What every ref has besides the actor's methods. */
export interface RefControls<T> {
  /** The same ref, with these options for every call made through it (merged over the current ones). */
  withOptions(options: CallOptions): Ref<T>;
  /**
   * Release the ref now instead of when it is garbage-collected (also `using ref = ...`). For a ref a
   * peer passed us, this closes its channel: the owner stops serving it, and every later call through
   * it (or through a ref derived from it with `withOptions`, which shares the channel) fails with
   * UNAVAILABLE. A ref from `system.ref()` (local, or to a peer's actor by name) holds nothing of its
   * own: releasing it does nothing, and it stays usable. Idempotent; never throws.
   */
  [Symbol.dispose](): void;
  readonly [REF]: true;
}

/**
 * A typed proxy to an actor, local or remote. Calls through it go through the actor's mailbox.
 *
 * @example
 * ```ts
 * const calc: Ref<Calculator> = system.ref<Calculator>('calculator', peer);
 * console.log(await calc.add(1, 2));
 * calc.ticks(3).subscribe((n) => console.log('tick', n));
 * // Logs:
 * // 3
 * // tick 0
 * // tick 1
 * // tick 2
 * ```
 */
export type Ref<T> = RemoteMethods<T> & RefControls<T>;

/**
 * The function a handler gets for a callback argument typed `F`: each call goes back to the caller and
 * returns a promise (also when the ref is local), so declare callback parameters with this type or as
 * returning a Promise.
 */
export type RemoteCallback<F extends AnyFunction> = (...args: Parameters<F>) => RemoteResult<ReturnType<F>>;
