/**
 * Calling a handler: which methods of a class may be called, where the context argument goes, and
 * what kind of result came back. Shared by local and remote dispatch.
 */
import { Readable, Writable } from 'node:stream';
import { from, isObservable, type Observable } from 'rxjs';
import { Call, Stream } from './call.js';
import type { CallContext } from './context.js';

/** Names never callable through a ref (see `HiddenName` in types.ts). */
const HIDDEN = new Set(['constructor', 'onStart', 'onStop', 'withOptions']);

/**
 * The methods of `cls` a ref may call: every function-valued property on its prototype chain (up to,
 * not including, Object.prototype), except getters, `constructor`, the lifecycle hooks `onStart` and
 * `onStop`, `withOptions`, and names starting with `_`.
 */
export function callableMethods(cls: Function): Set<string> {
  const names = new Set<string>();
  for (let p: unknown = cls.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
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
 * Settle a handler's raw result: await a promise, but keep an Observable as it is (a ref's Call is an
 * Observable AND a thenable; returned from a handler it is forwarded as a stream, not awaited).
 */
export async function settle(result: unknown): Promise<unknown> {
  // A promise that resolves with a thenable adopts it (calls its `then`): hand on a Call as a Stream.
  if (result instanceof Call) {
    const call = result.claim();
    return new Stream(
      (s) => call.subscribe(s),
      () => call[Symbol.asyncIterator](),
    );
  }
  if (isObservable(result)) return result;
  return isThenable(result) ? await result : result;
}

/** A stream result as an Observable: an AsyncIterable is pulled one item at a time (`from`). */
export function toObservable(source: Observable<unknown> | AsyncIterable<unknown>): Observable<unknown> {
  return isObservable(source) ? source : from(source as AsyncIterable<unknown>);
}
