/**
 * Many calls in flight on one connection, over TLS 1.3: 200 at once on one connection, and 200 sharing
 * one caller AbortSignal. Neither side may print a process warning (Node's MaxListenersExceededWarning
 * for more than 10 'abort' listeners on one signal was one per loaded server), every call ends, and
 * aborting the shared signal cancels every call and every handler.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { actor, callContext, isRpcError } from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

const IN_FLIGHT = 200;

/** Holds every call until released, so they are all in flight at once. */
const gate = {
  entered: 0,
  reasons: [] as unknown[],
  open: undefined as (() => void) | undefined,
  opened: Promise.resolve(),
  reset() {
    this.entered = 0;
    this.reasons = [];
    this.opened = new Promise<void>((resolve) => {
      this.open = resolve;
    });
  },
};

@actor('held', { concurrency: IN_FLIGHT })
class Held {
  async echo(i: number): Promise<number> {
    const ctx = callContext();
    gate.entered++;
    // Every handler reads its signal: each call's own, never the connection's.
    const aborted = new Promise<never>((_, reject) =>
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }),
    );
    aborted.catch((reason: unknown) => gate.reasons.push(reason));
    await Promise.race([gate.opened, aborted]);
    return i;
  }
}

let p: Pair | undefined;
let warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);

beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
  gate.reset();
});

afterEach(async () => {
  process.off('warning', onWarning);
  gate.open?.();
  await p?.close();
  p = undefined;
});

describe('actors over TLS: many calls in flight on one connection', () => {
  it(`${IN_FLIGHT} calls at once: all answered, no process warning on either side`, async () => {
    p = await pair({ server: { config: { maxCallsPerConnection: 1024 } } });
    await p.server.register(Held);
    const held = p.client.ref<Held>('held', p.peer);
    const calls = Array.from({ length: IN_FLIGHT }, (_, i) => held.echo(i));
    await eventually(() => gate.entered === IN_FLIGHT, `${IN_FLIGHT} handlers to run at once`, 10_000);
    assert.equal(p.server.stats().servedCalls, IN_FLIGHT);
    assert.equal(p.client.stats().pendingCalls, IN_FLIGHT);
    gate.open!();
    assert.deepEqual(
      await Promise.all(calls),
      Array.from({ length: IN_FLIGHT }, (_, i) => i),
    );
    // Warnings are emitted on process.nextTick: let them surface.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      warnings.map((w) => `${w.name}: ${w.message}`),
      [],
    );
  });

  it(`${IN_FLIGHT} calls sharing one AbortSignal: aborting it cancels all, no process warning`, async () => {
    p = await pair();
    await p.server.register(Held);
    const ac = new AbortController();
    const held = p.client.ref<Held>('held', p.peer).withOptions({ signal: ac.signal });
    const calls = Array.from({ length: IN_FLIGHT }, (_, i) => held.echo(i));
    const settled = Promise.allSettled(calls);
    await eventually(() => gate.entered === IN_FLIGHT, `${IN_FLIGHT} handlers to run at once`, 10_000);
    ac.abort();
    const outcomes = await settled;
    assert.ok(
      outcomes.every((o) => o.status === 'rejected' && isRpcError(o.reason, 'CANCELLED')),
      'every call fails CANCELLED',
    );
    await eventually(() => gate.reasons.length === IN_FLIGHT, 'every handler signal to abort', 10_000);
    assert.ok(gate.reasons.every((r) => isRpcError(r, 'CANCELLED')));
    assert.equal(p.client.stats().pendingCalls, 0);
    await eventually(() => p!.server.stats().servedCalls === 0, 'the server to end every call');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      warnings.map((w) => `${w.name}: ${w.message}`),
      [],
    );
  });
});
