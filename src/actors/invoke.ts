/**
 * Calling a handler: which methods of a class may be called, where the context argument goes, and
 * what kind of result came back. Shared by local and remote dispatch.
 */
import { Readable, Writable } from 'node:stream';
import { from, isObservable, type Observable } from 'rxjs';
import { Call, Stream } from './call.js';
import type { CallContext } from './context.js';

/**
 * Names never callable through a ref (see `HiddenName` in types.ts): the constructor, the lifecycle
 * hooks, the ref's own `withOptions`, `then` (a ref is not a thenable), and every member name of
 * Object.prototype even when a class redefines it (`toString`, `valueOf`, `hasOwnProperty`, ...; the
 * `__proto__` family starts with `_` anyway).
 */
const HIDDEN = new Set([
  'constructor',
  'onStart',
  'onStop',
  'withOptions',
  'then',
  ...Object.getOwnPropertyNames(Object.prototype),
]);

/**
 * The methods of `cls` a ref may call: every function-valued data property with a string name on its
 * prototype chain (up to, not including, Object.prototype), except `constructor`, the lifecycle hooks
 * `onStart` and `onStop`, `withOptions`, `then`, Object.prototype's member names, and names starting
 * with `_`. Getters, setters and symbol-named methods are never callable; neither is a name whose
 * nearest definition on the chain is not a method (a getter in a subclass hides a base-class method).
 *
 * TypeScript's `private` does not exist at run time: a `private` method is callable by any peer that
 * names it (the `Ref<T>` type hides it, but a peer is not bound by our types). Start its name with `_`,
 * or use a `#private` method or a module function, to keep it off the wire.
 */
export function callableMethods(cls: Function): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  for (let p: unknown = cls.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (seen.has(name)) continue; // defined nearer the instance: that definition decides
      seen.add(name);
      const d = Object.getOwnPropertyDescriptor(p, name);
      if (d && typeof d.value === 'function' && !HIDDEN.has(name) && !name.startsWith('_')) names.add(name);
    }
  }
  return names;
}

/**
 * Call `fn` on `self` with the caller's `args` and `ctx` as the last argument: at index
 * `fn.length - 1`, padding `args` with `undefined`, or after `args` when they are longer (see context.ts).
 * Throws whatever the handler throws synchronously.
 */
export function callHandler(
  fn: Function,
  self: unknown,
  args: readonly unknown[],
  ctx: CallContext,
): unknown {
  const at = Math.max(args.length, fn.length - 1);
  const full = new Array<unknown>(at + 1);
  for (let i = 0; i < args.length; i++) full[i] = args[i];
  full[at] = ctx;
  return fn.apply(self, full);
}

/** A Node byte stream: carried as a value (by the channel layer), never iterated as a stream of items. */
export function isByteStream(v: unknown): v is Readable | Writable {
  return v instanceof Readable || v instanceof Writable;
}

/** True for an Observable, or an AsyncIterable that is not a Node byte stream. */
export function isStreamLike(v: unknown): v is Observable<unknown> | AsyncIterable<unknown> {
  return isObservable(v) || isAsyncIterable(v);
}

/** An AsyncIterable that is not a Node byte stream. */
export function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function' &&
    !isByteStream(v)
  );
}

/** True for a thenable (a Promise, or a ref's Call — which must not be awaited when it is a stream). */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/**
 * A handler's raw result, ready to be adopted by a promise: a ref's Call (an Observable AND a thenable)
 * becomes a plain Stream, so returned from a handler it is forwarded as a stream, not awaited; anything
 * else is returned as it is (a promise or thenable is then awaited by whoever adopts it). Synchronous, so
 * a handler that returns a plain value costs no promise here.
 */
export function settle(result: unknown): unknown {
  // A promise that resolves with a thenable adopts it (calls its `then`): hand on a Call as a Stream.
  if (result instanceof Call) {
    const call = result.claim();
    return new Stream(
      (s) => call.subscribe(s),
      () => call[Symbol.asyncIterator](),
    );
  }
  return result;
}

/** A stream result as an Observable: an AsyncIterable is pulled one item at a time (`from`). */
export function toObservable(source: Observable<unknown> | AsyncIterable<unknown>): Observable<unknown> {
  return isObservable(source) ? source : from(source as AsyncIterable<unknown>);
}
