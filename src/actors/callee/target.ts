/**
 * What a served call runs on. A call stream names an actor; a ref's or callback's channel stands for
 * the actor ref or function that was passed. The server code is the same for all of them; only the
 * target differs.
 */

import type { Invoker } from '../caller/ref.js';
import type { OverflowPolicy } from '../config.js';
import { type Caller, type CallScope, runInScope } from '../context.js';
import { rpcError } from '../errors.js';
import { isThenable } from '../invoke.js';
import type { CallOptions } from '../types.js';
import type { HostedActor } from './hosted.js';

/** Per-method options a target gives the code that streams its results. */
export interface StreamOptions {
  buffer?: number;
  overflow?: OverflowPolicy;
}

export interface Target {
  /** The actor's name for contexts and messages; '' for a callback. */
  readonly actor: string;
  /** Throws why `caller` may not call `method`: UNIMPLEMENTED, PERMISSION_DENIED, UNAVAILABLE. */
  admit(method: string, caller: Caller): void;
  /** Deadline of a call that sets none (see ActorCell.defaultTimeout). */
  defaultTimeout(method: string): { ms: number | undefined; unaryOnly: boolean };
  /** Buffer and overflow policy for a push stream result of `method`. */
  streamOptions(method: string): StreamOptions;
  /**
   * Run the call in `scope`. `outcome.resolve` gets the handler's result (a value, or an Observable /
   * AsyncIterable for a stream; a thenable is awaited first), `outcome.reject` the error; exactly one of
   * them runs, maybe before this returns. Throws only what `admit` would have (a target that cannot
   * serve at all).
   */
  dispatch(method: string, args: readonly unknown[], scope: CallScope, outcome: Outcome): void;
}

/** Where a dispatched call's result goes (an object with methods, so a call needs no closures). */
export interface Outcome {
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** Hand `result` to `outcome`: at once for a plain value, when it settles for a thenable. */
export function settleInto(result: unknown, outcome: Outcome): void {
  if (isThenable(result)) {
    result.then(
      (value) => outcome.resolve(value),
      (err: unknown) => outcome.reject(err),
    );
  } else outcome.resolve(result);
}

const cellTargets = new WeakMap<HostedActor, Target>();
const keyedTargets = new WeakMap<HostedActor, Target>();

/** An actor by name, for its callers: authorization applies. One per cell (every call asks for it). */
export function cellTarget(cell: HostedActor): Target {
  let target = cellTargets.get(cell);
  if (target === undefined) {
    target = {
      actor: cell.name,
      admit: (method, caller) => cell.admit(method, caller),
      defaultTimeout: (method) => cell.defaultTimeout(method),
      streamOptions: (method) => streamOptionsOf(cell, method),
      dispatch: (method, args, scope, outcome) => cell.enqueue(method, args, scope, outcome),
    };
    cellTargets.set(cell, target);
  }
  return target;
}

/**
 * An actor by name, called with a key (the CALL record's `k`, which the served call's scope holds):
 * `admitKeyed` refuses it for an unkeyed actor. One per actor.
 */
export function keyedTarget(cell: HostedActor): Target {
  let target = keyedTargets.get(cell);
  if (target === undefined) {
    target = {
      ...cellTarget(cell),
      admit: (method, caller) => cell.admitKeyed(method, caller),
    };
    keyedTargets.set(cell, target);
  }
  return target;
}

/**
 * An actor through a ref its holder passed to a peer: the ref is a capability, so the actor's and
 * methods' `allow` lists are not applied to the peer that received it.
 */
export function capabilityTarget(cell: HostedActor, key?: string): Target {
  const base = cellTarget(cell);
  return {
    ...base,
    // A keyed ref passed on: its calls (on the ref's channel, without `k`) go to the ref's key.
    dispatch:
      key === undefined
        ? base.dispatch
        : (method, args, scope, outcome) => {
            scope.key = key;
            cell.enqueue(method, args, scope, outcome);
          },
    admit(method) {
      if (cell.state === 'failed' || cell.state === 'stopped') {
        throw rpcError('UNAVAILABLE', `actor ${cell.name} is ${cell.state}`);
      }
      if (!cell.methods.has(method))
        throw rpcError('UNIMPLEMENTED', `actor ${cell.name} has no method ${method}`);
    },
  };
}

const NO_TIMEOUT = { ms: undefined, unaryOnly: false } as const;

/**
 * A callback function passed as an argument: the only method is '' (the function itself). It runs in
 * the call's scope, so `callContext()` works inside it.
 */
export function functionTarget(fn: Function): Target {
  return {
    actor: '',
    admit(method) {
      if (method !== '') throw rpcError('UNIMPLEMENTED', `a callback has no method ${method}`);
    },
    defaultTimeout: () => NO_TIMEOUT,
    streamOptions: () => ({}),
    dispatch(_method, args, scope, outcome) {
      let result: unknown;
      try {
        result = runInScope(scope, fn, undefined, args);
      } catch (err) {
        outcome.reject(err);
        return;
      }
      settleInto(result, outcome);
    },
  };
}

/**
 * A ref we hold (to a peer's actor, or passed to us) passed on to another peer: calls are forwarded
 * through this node, as calls made by the served call (its deadline and cancellation go along).
 */
export function forwardTarget(actor: string, invoker: Invoker, base: CallOptions): Target {
  return {
    actor,
    admit: () => {},
    defaultTimeout: () => NO_TIMEOUT,
    streamOptions: () => ({}),
    dispatch(method, args, scope, outcome) {
      const call = runInScope(scope, forward, invoker, [method, [...args], base]);
      settleInto(call, outcome);
    },
  };
}

function forward(this: Invoker, method: string, args: unknown[], options: CallOptions): unknown {
  return this.call(method, args, options);
}

function streamOptionsOf(cell: HostedActor, method: string): StreamOptions {
  const m = cell.methodOptions(method);
  const out: StreamOptions = {};
  if (m?.buffer !== undefined) out.buffer = m.buffer;
  if (m?.overflow !== undefined) out.overflow = m.overflow;
  return out;
}
