/**
 * What a mailbox channel delivers its calls to. A top-level mailbox channel names an actor; a nested
 * one (an argument) stands for a callback function or an actor ref the caller passed. The server code
 * is the same for all of them; only the target differs.
 */

import type { Invoker } from './call.js';
import type { ActorCell } from './cell.js';
import type { OverflowPolicy } from './config.js';
import type { CallContext, Caller } from './context.js';
import { rpcError } from './errors.js';
import { isThenable, settle } from './invoke.js';
import type { CallOptions } from './types.js';

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
  /** Deadline (ms) of a call that sets none; undefined: none. */
  defaultTimeout(method: string, stream: boolean): number | undefined;
  /** Buffer and overflow policy for a push stream result of `method`. */
  streamOptions(method: string): StreamOptions;
  /**
   * Run the call. `outcome.resolve` gets the handler's result (a value, or an Observable / AsyncIterable
   * for a stream; a promise is awaited first), `outcome.reject` the error; exactly one of them runs, maybe
   * before this returns. `stream` says how the caller asked (a target that forwards needs it). Throws
   * only what `admit` would have (a target that cannot serve at all).
   */
  dispatch(
    method: string,
    args: readonly unknown[],
    ctx: CallContext,
    stream: boolean,
    outcome: Outcome,
  ): void;
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

const cellTargets = new WeakMap<ActorCell, Target>();

/** An actor by name, for its callers: authorization applies. One per cell (every call asks for it). */
export function cellTarget(cell: ActorCell): Target {
  let target = cellTargets.get(cell);
  if (target === undefined) {
    target = {
      actor: cell.name,
      admit: (method, caller) => cell.admit(method, caller),
      defaultTimeout: (method, stream) => cell.defaultTimeout(method, stream),
      streamOptions: (method) => streamOptionsOf(cell, method),
      dispatch: (method, args, ctx, _stream, outcome) => cell.enqueue(method, args, ctx, outcome),
    };
    cellTargets.set(cell, target);
  }
  return target;
}

/**
 * An actor through a ref its holder passed to a peer: the ref is a capability, so the actor's and
 * methods' `allow` lists are not applied to the peer that received it.
 */
export function capabilityTarget(cell: ActorCell): Target {
  return {
    ...cellTarget(cell),
    admit(method) {
      if (cell.state === 'failed' || cell.state === 'stopped') {
        throw rpcError('UNAVAILABLE', `actor ${cell.name} is ${cell.state}`);
      }
      if (!cell.methods.has(method))
        throw rpcError('UNIMPLEMENTED', `actor ${cell.name} has no method ${method}`);
    },
  };
}

/** A callback function passed as an argument: the only method is '' (the function itself). */
export function functionTarget(fn: Function): Target {
  return {
    actor: '',
    admit(method) {
      if (method !== '') throw rpcError('UNIMPLEMENTED', `a callback has no method ${method}`);
    },
    defaultTimeout: () => undefined,
    streamOptions: () => ({}),
    dispatch(_method, args, _ctx, _stream, outcome) {
      let result: unknown;
      try {
        result = settle(fn(...args));
      } catch (err) {
        outcome.reject(err);
        return;
      }
      settleInto(result, outcome);
    },
  };
}

/** A remote ref passed on to another peer: calls are forwarded through this node. */
export function forwardTarget(actor: string, invoker: Invoker, base: CallOptions): Target {
  return {
    actor,
    admit: () => {},
    defaultTimeout: () => undefined,
    streamOptions: () => ({}),
    dispatch(method, args, ctx, stream, outcome) {
      const remaining = ctx.deadline === undefined ? base.timeoutMs : Math.max(1, ctx.deadline - Date.now());
      const signal = base.signal ? AbortSignal.any([base.signal, ctx.signal]) : ctx.signal;
      const options: CallOptions = { ...base, signal };
      if (remaining !== undefined) options.timeoutMs = remaining;
      if (stream) outcome.resolve(invoker.stream(method, [...args], options));
      else settleInto(invoker.unary(method, [...args], options), outcome);
    },
  };
}

function streamOptionsOf(cell: ActorCell, method: string): StreamOptions {
  const m = cell.methodOptions(method);
  const out: StreamOptions = {};
  if (m?.buffer !== undefined) out.buffer = m.buffer;
  if (m?.overflow !== undefined) out.overflow = m.overflow;
  return out;
}
