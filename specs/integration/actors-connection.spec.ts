/**
 * The connection under actor calls, over TLS 1.3 through a TCP proxy that can cut it: a lost
 * connection fails every pending call and subscription with UNAVAILABLE; refs reconnect on next use,
 * with backoff after failed dials; pending calls are limited per connection on both sides.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstValueFrom, interval, type Observable } from 'rxjs';
import { actor, callContext, isRpcError } from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

const seen = { signals: [] as AbortSignal[] };

@actor('worker')
class Worker {
  ping(): string {
    return 'pong';
  }
  async hold(ms: number): Promise<string> {
    const ctx = callContext();
    seen.signals.push(ctx.signal);
    await sleep(ms, undefined, { signal: ctx.signal });
    return 'held';
  }
  ticks(): Observable<number> {
    return interval(5);
  }
}

@actor('parallel', { concurrency: 16 })
class Parallel extends Worker {}

let p: Pair;
afterEach(async () => {
  await p?.close();
});

const code = (c: string) => (e: unknown) => isRpcError(e, c as never);

describe('actors over TLS: a lost connection', () => {
  it('fails pending calls and subscriptions with UNAVAILABLE, aborts the server handlers, reconnects on next use', async () => {
    p = await pair({ proxy: true });
    await p.server.register(Worker);
    seen.signals = [];
    const worker = p.client.ref<Worker>('worker', p.peer);
    assert.equal(await worker.ping(), 'pong');
    // The stream first: the actor handles one call at a time, in order, and hold() keeps it busy.
    let ticks = 0;
    const subscription = new Promise((resolve, reject) =>
      worker.ticks().subscribe({ next: () => ticks++, error: reject, complete: () => resolve('completed') }),
    );
    const pending = worker.hold(10_000);
    await eventually(
      () => seen.signals.length === 1 && ticks > 0,
      'the call and the subscription to be live',
    );
    p.proxy!.cut();
    await assert.rejects(pending, code('UNAVAILABLE'));
    await assert.rejects(subscription, code('UNAVAILABLE'));
    await eventually(() => seen.signals[0]!.aborted, 'the server handler to be aborted');
    assert.equal(p.client.stats().pendingCalls, 0);
    // Next use dials again.
    assert.equal(await worker.ping(), 'pong');
    assert.equal(p.proxy!.accepted, 2);
  });

  it('after a failed dial, fails fast during the backoff and dials again after it', async () => {
    p = await pair({ proxy: true, client: { config: { reconnectBaseMs: 150, reconnectMaxMs: 1000 } } });
    await p.server.register(Worker);
    const worker = p.client.ref<Worker>('worker', p.peer);
    p.proxy!.refuse();
    await assert.rejects(worker.ping(), code('UNAVAILABLE'));
    const refusedAt = Date.now();
    p.proxy!.resume();
    await assert.rejects(
      worker.ping(),
      (e) => isRpcError(e, 'UNAVAILABLE') && /next dial in/.test(e.message),
    );
    assert.equal(p.proxy!.accepted, 0, 'no dial during the backoff');
    await sleep(Math.max(0, 160 - (Date.now() - refusedAt)));
    assert.equal(await worker.ping(), 'pong');
  });
});

describe('actors over TLS: pending-call limits', () => {
  it('answers RESOURCE_EXHAUSTED beyond maxCallsPerConnection on the server', async () => {
    p = await pair({ server: { config: { maxCallsPerConnection: 2 } } });
    await p.server.register(Parallel);
    seen.signals = [];
    const worker = p.client.ref<Parallel>('parallel', p.peer);
    const ac = new AbortController();
    const holding = worker.withOptions({ signal: ac.signal });
    const held = [holding.hold(10_000), holding.hold(10_000)];
    await eventually(() => seen.signals.length === 2, 'two calls in progress');
    await assert.rejects(worker.ping(), code('RESOURCE_EXHAUSTED'));
    await assert.rejects(firstValueFrom(worker.ticks()), code('RESOURCE_EXHAUSTED'));
    ac.abort();
    await Promise.allSettled(held);
    await eventually(() => p.server.stats().servedCalls === 0, 'the held calls to end on the server');
    assert.equal(await worker.ping(), 'pong', 'slots are free again');
  });

  it('beyond maxPendingCalls a call waits for a slot, within its deadline and signal (issue 10 #7)', async () => {
    p = await pair({ client: { config: { maxPendingCalls: 2 } } });
    await p.server.register(Parallel);
    seen.signals = [];
    const worker = p.client.ref<Parallel>('parallel', p.peer);
    assert.equal(await worker.ping(), 'pong');
    const ac = new AbortController();
    const held = [
      worker.withOptions({ signal: ac.signal }).hold(10_000),
      worker.withOptions({ signal: ac.signal }).hold(10_000),
    ];
    await eventually(() => seen.signals.length === 2, 'two calls in progress');
    // Waiting calls end by their own deadline or signal, without ever being sent.
    await assert.rejects(worker.withOptions({ timeoutMs: 50 }).ping(), code('DEADLINE_EXCEEDED'));
    const gaveUp = new AbortController();
    const cancelled = worker.withOptions({ signal: gaveUp.signal }).ping();
    gaveUp.abort();
    await assert.rejects(cancelled, code('CANCELLED'));
    const waiting = worker.ping();
    await sleep(30);
    assert.equal(p.client.stats().pendingCalls, 3, 'two in flight, one waiting');
    assert.equal(p.server.stats().servedCalls, 2, 'the waiting call was not sent');
    ac.abort();
    await Promise.allSettled(held);
    assert.equal(await waiting, 'pong', 'the waiting call went out when a slot was free');
    assert.equal(p.client.stats().pendingCalls, 0);
  });

  it('2,000 concurrent calls on one connection all complete (issue 10 #7)', async () => {
    p = await pair();
    await p.server.register(Parallel);
    const worker = p.client.ref<Parallel>('parallel', p.peer);
    const results = await Promise.all(Array.from({ length: 2000 }, () => worker.ping()));
    assert.equal(results.length, 2000);
    assert.ok(results.every((r) => r === 'pong'));
  });
});
