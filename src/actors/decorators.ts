/**
 * `@actor` and `@method`: the options of an actor class and of its methods, kept as metadata beside the
 * class (a WeakMap, not globals), read by the actor system when the class is registered.
 */
import 'reflect-metadata';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { injectable } from 'tsyringe';
import { transportError } from '../transport/errors.js';
import { type RestartPolicy, verifySupervision } from './callee/supervisor.js';
import { isOverflowPolicy, type OverflowPolicy, verifyTimeout } from './config.js';

/** Options of an actor, from `@actor(name, options)` or `system.register(name, Class, options)`. */
export interface ActorOptions {
  /**
   * Who may call this actor: names from the authorized-keys list, or key ids (base64url); `'*'` is any
   * authenticated peer. Undefined: anyone this node accepted a connection from. Local refs are not checked.
   */
  allow?: readonly string[];
  /** Deadline of each unary call (and of each stream whose method sets one), ms, when the call sets none. 0: none. */
  timeoutMs?: number;
  /** Messages the actor handles at once. Default 1: one at a time, in arrival order. */
  concurrency?: number;
  /**
   * What happens when the actor fails (its `onStart` throws, or a handler fails with an error `fatal`
   * accepts). `'never'` (default): it stays failed, its calls fail UNAVAILABLE, until unregistered.
   * `'on-failure'`, or an object of limits: the failed instance is stopped and, after a backoff, a fresh
   * one is resolved from a new child container and started; calls wait meanwhile. See
   * `RestartOptions` for the limits and their defaults.
   */
  restart?: RestartPolicy;
  /**
   * Which errors of a handler are failures of the actor itself (a lost database connection, a broken
   * invariant), rather than of one call. The call is answered with its error either way; then a fatal
   * one restarts the actor (or fails it, under `restart: 'never'`). Asked about each error a handler
   * throws or rejects with, unless the call was aborted (deadline, cancellation, stop); not about the
   * errors of a stream result once it was returned. Default: no error is fatal.
   */
  fatal?: (err: unknown) => boolean;
  /**
   * A keyed (virtual) actor: every call names a key (`system.ref(name, key)`), and each key gets an
   * activation of its own (an instance from its own child container with ACTOR_KEY, its own mailbox,
   * lifecycle and supervision), made on the key's first call and passivated when idle. Default false.
   */
  keyed?: boolean;
  /** Keyed only: passivate an activation after this long with no call running or queued, ms. Default 300000. */
  idleMs?: number;
  /** Keyed only: activations of this actor at once on this node; beyond, calls fail RESOURCE_EXHAUSTED. Default 100000. */
  maxActivations?: number;
  /**
   * Keyed only: the activation has durable state: loaded from the system's state store before the
   * instance is made, injected as ACTOR_STATE (an `ActorState`). Default false.
   */
  state?: boolean;
}

/** Default `idleMs` of a keyed actor, ms. */
export const DEFAULT_IDLE_MS = 300_000;
/** Default `maxActivations` of a keyed actor. */
export const DEFAULT_MAX_ACTIVATIONS = 100_000;

/** Options of one method, from `@method(options)`; they win over the actor's. */
export interface MethodOptions {
  /** Who may call this method, in addition to the actor's `allow` (both must admit the caller). */
  allow?: readonly string[];
  /**
   * Deadline of a call when the caller sets none, ms. 0: none (even if the actor has a default).
   * For streams it bounds the whole subscription; an actor's default does not apply to streams.
   */
  timeoutMs?: number;
  /** Items a push stream result may run ahead of a slow subscriber; default: the system's `streamBuffer`. */
  buffer?: number;
  /** What a push stream result does when that buffer is full; default: the system's `overflow` ('error'). */
  overflow?: OverflowPolicy;
  /**
   * A Standard Schema (zod, valibot, arktype, ...) per parameter, in order. The handler gets the
   * schemas' outputs; invalid arguments, or more arguments than schemas, are answered INVALID_ARGUMENT
   * (the issues in `details.issues`, each `{ message, path }` with the argument's index first) and the
   * handler does not run. Checked after the server interceptors, for local calls too.
   */
  params?: readonly StandardSchemaV1[];
  /**
   * A Standard Schema for the result: the value of a unary call, or each item of a stream result. A
   * result that does not match is answered INTERNAL (the issues go to `onError`, not to the caller).
   */
  result?: StandardSchemaV1;
  /**
   * What the method returns, as the reflection actor reports it (`rxchan list`): 'unary' (one value) or
   * 'stream'. Default: read from the method's declared return type (see `methodKind`). Not enforced.
   */
  kind?: DeclaredKind;
}

/** The result kinds a method may declare with `@method({ kind })`. */
export type DeclaredKind = 'unary' | 'stream';

/** What `@actor` recorded on a class. */
export interface ActorMetadata {
  readonly name: string;
  readonly options: ActorOptions;
}

const actors = new WeakMap<Function, ActorMetadata>();
const methods = new WeakMap<object, Map<string, MethodOptions>>();

/**
 * Marks a class as an actor named `name`, and makes it `@injectable()` for tsyringe (constructor
 * parameters are resolved from the actor's child container). Throws INVALID_CONFIG for bad options.
 *
 * @example
 * ```ts
 * @actor('calculator', { timeoutMs: 5_000 })
 * class Calculator {
 *   add(a: number, b: number): number { return a + b; }
 * }
 * system.register(Calculator);
 * console.log(await system.ref<Calculator>('calculator').add(1, 2));
 * // Logs:
 * // 3
 * ```
 */
export function actor(name: string, options: ActorOptions = {}): <C extends Function>(target: C) => C {
  verifyName(name);
  verifyActorOptions(options);
  return <C extends Function>(target: C): C => {
    actors.set(target, { name, options: { ...options } });
    injectable()(target as never);
    return target;
  };
}

/** Options for one method of an actor. Throws INVALID_CONFIG for bad options. */
export function method(options: MethodOptions): MethodDecorator {
  verifyMethodOptions(options);
  return (target, key) => {
    if (typeof key !== 'string') return;
    let table = methods.get(target);
    if (!table) {
      table = new Map();
      methods.set(target, table);
    }
    table.set(key, { ...options });
  };
}

/** The `@actor` metadata of a class (or of its nearest decorated base class). */
export function actorMetadata(cls: Function): ActorMetadata | undefined {
  for (let c: unknown = cls; typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    const m = actors.get(c as Function);
    if (m) return m;
  }
  return undefined;
}

/** The `@method` options of `name` on a class, looking up its prototype chain. */
export function methodOptions(cls: Function, name: string): MethodOptions | undefined {
  for (let p: unknown = cls.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const m = methods.get(p as object)?.get(name);
    if (m) return m;
  }
  return undefined;
}

/** Throws INVALID_CONFIG unless `name` is a non-empty string of at most 256 characters. */
export function verifyName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    const shown =
      typeof name === 'string' && name.length > 64
        ? `${name.slice(0, 64)}... (${name.length} characters)`
        : String(name);
    throw transportError('INVALID_CONFIG', `actor name must be 1 to 256 characters, got ${shown}`);
  }
}

/** Throws INVALID_CONFIG naming the bad option. */
export function verifyActorOptions(o: ActorOptions): void {
  verifyAllow(o.allow);
  verifyTimeout('actor', o.timeoutMs);
  if (o.concurrency !== undefined && (!Number.isSafeInteger(o.concurrency) || o.concurrency < 1)) {
    throw transportError('INVALID_CONFIG', `actor concurrency must be an integer >= 1, got ${o.concurrency}`);
  }
  verifySupervision(o.restart, o.fatal);
  verifyKeyed(o);
}

function verifyKeyed(o: ActorOptions): void {
  if (o.keyed !== undefined && typeof o.keyed !== 'boolean') {
    throw transportError('INVALID_CONFIG', 'actor keyed must be a boolean');
  }
  if (o.state !== undefined && typeof o.state !== 'boolean') {
    throw transportError('INVALID_CONFIG', 'actor state must be a boolean');
  }
  if (!o.keyed && (o.idleMs !== undefined || o.maxActivations !== undefined || o.state)) {
    throw transportError('INVALID_CONFIG', 'actor idleMs, maxActivations and state need keyed: true');
  }
  if (o.idleMs !== undefined && (!Number.isSafeInteger(o.idleMs) || o.idleMs < 1 || o.idleMs > 2 ** 31 - 1)) {
    throw transportError(
      'INVALID_CONFIG',
      `actor idleMs must be an integer of ms from 1 to 2^31-1, got ${o.idleMs}`,
    );
  }
  if (o.maxActivations !== undefined && (!Number.isSafeInteger(o.maxActivations) || o.maxActivations < 1)) {
    throw transportError(
      'INVALID_CONFIG',
      `actor maxActivations must be an integer >= 1, got ${o.maxActivations}`,
    );
  }
}

/** Throws INVALID_CONFIG naming the bad option. */
export function verifyMethodOptions(o: MethodOptions): void {
  verifyAllow(o.allow);
  verifyTimeout('method', o.timeoutMs);
  if (o.buffer !== undefined && (!Number.isSafeInteger(o.buffer) || o.buffer < 1)) {
    throw transportError('INVALID_CONFIG', `method buffer must be an integer >= 1, got ${o.buffer}`);
  }
  if (o.overflow !== undefined && !isOverflowPolicy(o.overflow)) {
    throw transportError('INVALID_CONFIG', `method overflow must be error, drop-oldest or drop-newest`);
  }
  if (o.kind !== undefined && o.kind !== 'unary' && o.kind !== 'stream') {
    throw transportError('INVALID_CONFIG', `method kind must be unary or stream, got ${String(o.kind)}`);
  }
  if (o.params !== undefined) {
    if (!Array.isArray(o.params))
      throw transportError('INVALID_CONFIG', 'method params must be an array of schemas');
    for (const [i, schema] of o.params.entries()) verifySchema(`params[${i}]`, schema);
  }
  if (o.result !== undefined) verifySchema('result', o.result);
}

/** Throws INVALID_CONFIG unless `schema` is a Standard Schema (version 1). */
function verifySchema(where: string, schema: unknown): void {
  const props = (schema as { '~standard'?: { version?: unknown; validate?: unknown } } | null)?.['~standard'];
  if (
    typeof props !== 'object' ||
    props === null ||
    props.version !== 1 ||
    typeof props.validate !== 'function'
  ) {
    throw transportError(
      'INVALID_CONFIG',
      `method ${where} must be a Standard Schema (zod, valibot, arktype, ...)`,
    );
  }
}

function verifyAllow(allow: unknown): void {
  if (allow === undefined) return;
  if (!Array.isArray(allow) || !allow.every((a) => typeof a === 'string' && a.length > 0)) {
    throw transportError('INVALID_CONFIG', 'allow must be an array of non-empty names or key ids');
  }
}
