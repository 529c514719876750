/**
 * CallScope: the first of abort, cancel, deadline and dispose wins; the handler's signal is made only
 * when read (and is already aborted, with the reason, when first read after the abort); a caller's
 * cancel that arrives within DEADLINE_SKEW_MS of the deadline (or after it) is DEADLINE_EXCEEDED.
 * onSignal: one listener per signal, however many calls share it.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CallScope,
  callContext,
  currentScope,
  DEADLINE_SKEW_MS,
  LOCAL_CALLER,
  onSignal,
  runInScope,
} from '../../src/actors/context.js';
import { isRpcError, type RpcError, rpcError } from '../../src/actors/errors.js';

/** Run `fn` with `Date.now()` reading `now`. */
function withClock(now: number, fn: () => void): void {
  const real = Date.now;
  Date.now = () => now;
  try {
    fn();
  } finally {
    Date.now = real;
  }
}

const scope = (timeoutMs: number | undefined, onAbort?: (r: RpcError) => void) =>
  new CallScope(LOCAL_CALLER, 'calc', 'add', timeoutMs, undefined, onAbort);

describe('CallScope', () => {
  it('gives a context with the deadline and no metadata; the signal is made on first read', () => {
    const s = scope(1000);
    assert.deepEqual(s.context.metadata, {});
    assert.equal(s.context.actor, 'calc');
    assert.equal(s.context.method, 'add');
    const left = s.context.deadline! - Date.now();
    assert.ok(left > 900 && left <= 1000, `deadline in ${left} ms`);
    assert.equal(s.reason, undefined);
    assert.equal(s.context.signal, s.context.signal, 'one signal per call');
    assert.equal(s.context.signal.aborted, false);
    s.dispose();
  });

  it('a signal first read after the abort is already aborted, with the reason', () => {
    const reasons: RpcError[] = [];
    const s = scope(undefined, (r) => reasons.push(r));
    const why = rpcError('UNAVAILABLE', 'lost');
    s.abort(why);
    s.abort(rpcError('CANCELLED', 'later')); // the first wins
    assert.deepEqual(reasons, [why]);
    assert.equal(s.reason, why);
    assert.equal(s.context.signal.aborted, true);
    assert.equal(s.context.signal.reason, why);
  });

  it('a signal read before the abort fires with the reason', () => {
    const s = scope(undefined);
    const signal = s.context.signal;
    let fired: unknown;
    signal.addEventListener('abort', () => {
      fired = signal.reason;
    });
    const why = rpcError('CANCELLED', 'bye');
    s.abort(why);
    assert.equal(fired, why);
  });

  it('its own deadline aborts with DEADLINE_EXCEEDED and marks it expired', async () => {
    let reason: RpcError | undefined;
    const s = scope(20, (r) => {
      reason = r;
    });
    await sleep(60);
    assert.ok(isRpcError(reason, 'DEADLINE_EXCEEDED'));
    assert.equal(s.expired, true);
    assert.equal(s.context.signal.reason, reason);
  });

  it("a cancel at, near or past the deadline is the caller's deadline: DEADLINE_EXCEEDED", () => {
    for (const late of [1000 - DEADLINE_SKEW_MS, 1000, 5000]) {
      const s = scope(1000);
      const deadline = s.context.deadline!;
      withClock(deadline - 1000 + late, () => s.cancel());
      assert.ok(isRpcError(s.reason, 'DEADLINE_EXCEEDED'), `${late} ms in: ${String(s.reason)}`);
      assert.equal(s.expired, false, 'not by its own timer');
    }
    const before = scope(1000);
    withClock(before.context.deadline! - DEADLINE_SKEW_MS - 1, () => before.cancel());
    assert.ok(isRpcError(before.reason, 'CANCELLED'));
  });

  it('a cancel well before the deadline, or without one, is CANCELLED', () => {
    const early = scope(10_000);
    early.cancel();
    assert.ok(isRpcError(early.reason, 'CANCELLED'));
    const none = scope(undefined);
    none.cancel();
    assert.ok(isRpcError(none.reason, 'CANCELLED'));
  });

  it('the skew is at most half a short timeout: a short call cancelled at once is CANCELLED', () => {
    const short = scope(DEADLINE_SKEW_MS);
    short.cancel();
    assert.ok(isRpcError(short.reason, 'CANCELLED'));
  });

  it('after dispose, nothing aborts it', async () => {
    const reasons: RpcError[] = [];
    const s = scope(10, (r) => reasons.push(r));
    s.dispose();
    s.cancel();
    s.abort(rpcError('CANCELLED', 'x'));
    await sleep(30);
    assert.deepEqual(reasons, []);
    assert.equal(s.context.signal.aborted, false);
  });

  it("takes 'abort' listeners like a signal, without making one: each runs once, removable", () => {
    const s = scope(undefined);
    const calls: string[] = [];
    const fn = () => calls.push('fn');
    const obj = { handleEvent: () => calls.push('obj') };
    const removed = () => calls.push('removed');
    s.addEventListener('abort', fn);
    s.addEventListener('abort', obj);
    s.addEventListener('abort', removed);
    s.removeEventListener('abort', removed);
    s.abort(rpcError('CANCELLED', 'x'));
    s.abort(rpcError('CANCELLED', 'again'));
    assert.deepEqual(calls, ['fn', 'obj']);
    assert.equal((s as unknown as { controller?: unknown }).controller, undefined, 'no AbortController made');
    s.addEventListener('abort', fn); // after the abort: never called
    assert.deepEqual(calls, ['fn', 'obj']);
  });

  it('a throwing listener does not stop the others or onAbort; dispose drops the listeners', () => {
    const reasons: RpcError[] = [];
    const s = scope(undefined, (r) => reasons.push(r));
    let later = 0;
    s.addEventListener('abort', () => {
      throw new Error('boom');
    });
    s.addEventListener('abort', () => later++);
    s.abort(rpcError('CANCELLED', 'x'));
    assert.equal(later, 1);
    assert.equal(reasons.length, 1);

    const d = scope(undefined);
    let called = 0;
    d.addEventListener('abort', () => called++);
    d.dispose();
    d.abort(rpcError('CANCELLED', 'x'));
    assert.equal(called, 0);
  });
});

describe('callContext', () => {
  it('is the running scope, across awaits, and throws INTERNAL outside a handler', async () => {
    assert.throws(
      () => callContext(),
      (e) => isRpcError(e, 'INTERNAL'),
    );
    assert.equal(currentScope(), undefined);
    const s = scope(1000);
    const seen = await runInScope(
      s,
      async function (this: unknown, x: number) {
        await sleep(1);
        return [this, x, callContext(), currentScope()];
      },
      'self',
      [7],
    );
    assert.deepEqual(seen, ['self', 7, s.context, s]);
    assert.equal(currentScope(), undefined);
    s.dispose();
  });

  it('dropDeadline clears the deadline and its timer', async () => {
    const s = scope(5);
    s.dropDeadline();
    assert.equal(s.context.deadline, undefined);
    await sleep(15);
    assert.equal(s.aborted, false);
  });
});

describe('onSignal', () => {
  it('adds one listener to a signal shared by many calls, fans out, and stops on unlink', () => {
    const ac = new AbortController();
    const got: string[] = [];
    const unlinks = Array.from({ length: 50 }, (_, i) =>
      onSignal(ac.signal, (r) => got.push(`${i}:${r.code}`)),
    );
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
    unlinks[0]!();
    ac.abort();
    assert.equal(got.length, 49);
    assert.ok(got.every((g) => g.endsWith(':CANCELLED')));
  });

  it('keeps an RpcError reason, runs at once on an aborted signal, ignores no signal', () => {
    const why = rpcError('DEADLINE_EXCEEDED', 'late');
    let got: RpcError | undefined;
    onSignal(AbortSignal.abort(why), (r) => {
      got = r;
    });
    assert.equal(got, why);
    const stop = onSignal(undefined, () => assert.fail('no signal, no call'));
    stop();
  });
});
