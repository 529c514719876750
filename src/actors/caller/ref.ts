/**
 * Refs: typed proxies with no code generation. Any string property of a ref is a method that starts
 * one call and returns its {@link Call}; the `Ref<T>` type (types.ts) decides what TypeScript lets you
 * call and what it returns. A ref is not a thenable (`then` is undefined), so it can be awaited or
 * returned from an async function. Code that tells refs from other values asks `isRef` first: a ref
 * answers any method name, so duck typing (`isObservable`) mistakes it for other things.
 */

import type { Target } from '../callee/target.js';
import { type CallOptions, REF, type Ref } from '../types.js';
import type { Call } from './call.js';

/** How a ref reaches its target: the local mailbox, a connection, or a channel a peer gave us. */
export interface Invoker {
  /** Start one call now. Never throws: a call that cannot start fails through its Call. */
  call(method: string, args: unknown[], options: CallOptions): Call<unknown>;
}

/** An invoker that can also serve calls from a peer that was given the ref (see ends.ts). */
export interface RefInvoker extends Invoker {
  /** What a peer holding this ref calls into. */
  target(options: CallOptions): Target;
  /** Let go of what the ref holds (a channel a peer gave us); absent: it holds nothing. Idempotent. */
  release?(): void;
}

interface RefState {
  readonly invoker: RefInvoker;
  readonly options: CallOptions;
}

const states = new WeakMap<object, RefState>();

/**
 * The prototype a ref reports: neither Object.prototype nor null, so encoders that pass plain objects
 * through as maps hand a ref to the code that knows what it is.
 */
const REF_PROTOTYPE: object = Object.freeze(Object.create(null));

/** Names a ref answers with undefined: `then` (a ref is not a thenable) and `toJSON` (JSON.stringify). */
const NOT_METHODS = new Set(['then', 'toJSON']);

/** A ref that calls through `invoker` with `options` on every call. */
export function makeRef<T>(invoker: RefInvoker, options: CallOptions = {}): Ref<T> {
  const state: RefState = { invoker, options };
  const methods = new Map<string, (...args: unknown[]) => Call<unknown>>();
  const release = () => invoker.release?.();
  const proxy = new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (prop === REF) return true;
      if (prop === Symbol.dispose) return release;
      if (typeof prop !== 'string' || NOT_METHODS.has(prop)) return undefined;
      if (prop === 'withOptions') return (more: CallOptions) => makeRef<T>(invoker, { ...options, ...more });
      let fn = methods.get(prop);
      if (!fn) {
        fn = (...args: unknown[]) => invoker.call(prop, args, options);
        methods.set(prop, fn);
      }
      return fn;
    },
    has: (_target, prop) => prop === REF || prop === Symbol.dispose,
    getPrototypeOf: () => REF_PROTOTYPE,
    set: () => false,
    defineProperty: () => false,
  });
  states.set(proxy, state);
  return proxy as Ref<T>;
}

/** True for a ref made by an actor system. */
export function isRef(value: unknown): value is Ref<unknown> {
  return typeof value === 'object' && value !== null && states.has(value);
}

/** The invoker and options behind a ref (for passing it to a peer). */
export function refState(ref: object): RefState | undefined {
  return states.get(ref);
}
