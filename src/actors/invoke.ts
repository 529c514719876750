/**
 * Calling a handler: which methods of a class may be called, and what kind of result came back. Shared
 * by local and remote dispatch.
 */
import type { Readable, Writable } from 'node:stream';
import { from, isObservable, type Observable } from 'rxjs';
import { isByteStream as isPlatformByteStream } from '#platform/byte-streams.js';
import { isRef } from './caller/ref.js';

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
  'toJSON',
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

/** A byte stream (on Node, a Readable or Writable): carried as a value, never iterated as a stream of items. */
export function isByteStream(v: unknown): v is Readable | Writable {
  return isPlatformByteStream(v);
}

/** True for an Observable, or an AsyncIterable that is not a Node byte stream; never for a ref. */
export function isStreamLike(v: unknown): v is Observable<unknown> | AsyncIterable<unknown> {
  if (isRef(v)) return false;
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

/** True for a thenable (a Promise, or a ref's Call). */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/** A stream result as an Observable: an AsyncIterable is pulled one item at a time (`from`). */
export function toObservable(source: Observable<unknown> | AsyncIterable<unknown>): Observable<unknown> {
  return isObservable(source) ? source : from(source as AsyncIterable<unknown>);
}
