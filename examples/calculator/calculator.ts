/**
 * The calculator actor: request/reply methods, a typed error, and a slow method that honours its
 * call's deadline.
 */
import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { actor, callContext, isRpcError, method, rpcError } from '../../src/index.js';

/** Every call without a deadline of its own gets 5 s. */
@actor('calculator', { timeoutMs: 5_000 })
export class Calculator {
  /** Calls that stopped early because their deadline passed or they were cancelled, as `method(arg): CODE`. */
  private readonly stopped: string[] = [];

  add(a: number, b: number): number {
    return a + b;
  }

  multiply(a: number, b: number): number {
    return a * b;
  }

  /** `a / b`. Fails INVALID_ARGUMENT, with the dividend in `details`, when `b` is 0. */
  divide(a: number, b: number): number {
    if (b === 0) throw rpcError('INVALID_ARGUMENT', 'division by zero', { details: { dividend: a } });
    return a / b;
  }

  /**
   * `x * x`, after `thinkMs` of "work". A call that sets no deadline gets 500 ms (the method's default
   * wins over the actor's). The work stops when the call's signal aborts (deadline passed, caller
   * cancelled, connection lost); the caller has already been told, so this only records it.
   */
  @method({ timeoutMs: 500 })
  async slowSquare(x: number, thinkMs: number): Promise<number> {
    const ctx = callContext();
    try {
      await sleep(thinkMs, undefined, { signal: ctx.signal });
    } catch (err) {
      const reason: unknown = ctx.signal.reason;
      this.stopped.push(`slowSquare(${x}): ${isRpcError(reason) ? reason.code : String(reason)}`);
      throw err;
    }
    return x * x;
  }

  /** What {@link slowSquare} recorded so far. */
  stoppedCalls(): string[] {
    return [...this.stopped];
  }
}
