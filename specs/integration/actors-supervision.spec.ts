/**
 * Supervision seen from a client over TLS 1.3 (issue 12): an actor whose onStart fails is restarted
 * with a fresh instance while the client's calls wait; a fatal handler error answers its call, aborts
 * the other running calls UNAVAILABLE at once (the connection stays up) and restarts the actor; a
 * restart budget used up leaves it failed; `unregister` frees the name for a new registration that the
 * same remote ref reaches.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { injectable, Lifecycle, scoped } from 'tsyringe';
import { callContext, isRpcError } from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

/** Resolved anew in each child container: one per instance of the actor. */
@scoped(Lifecycle.ContainerScoped)
class Pool {
  static made = 0;
  readonly id = ++Pool.made;
}

class PoolBroken extends Error {}

@injectable()
class Store {
  static failStarts = 0;
  static constructed = 0;
  static stops = 0;
  readonly n = ++Store.constructed;
  constructor(readonly pool: Pool) {}

  onStart(): void {
    if (Store.failStarts > 0) {
      Store.failStarts--;
      throw new Error(`start ${this.n}: the database is down`);
    }
  }

  onStop(): void {
    Store.stops++;
  }

  get(): { instance: number; pool: number } {
    return { instance: this.n, pool: this.pool.id };
  }

  corrupt(): void {
    throw new PoolBroken(`instance ${this.n}: pool broken`);
  }

  async hold(ms: number): Promise<string> {
    await sleep(ms, undefined, { signal: callContext().signal });
    return `held ${this.n}`;
  }
}

function reset(failStarts: number): void {
  Store.failStarts = failStarts;
  Store.constructed = 0;
  Store.stops = 0;
}

let p: Pair | undefined;
let errors: unknown[] = [];
afterEach(async () => {
  await p?.close();
  p = undefined;
});

async function serverPair(): Promise<Pair> {
  errors = [];
  // Masked handler errors (reported with an `info`) are not the supervisor's reports.
  return pair({
    server: { onError: (e, info) => info === undefined && errors.push(e), config: { closeTimeoutMs: 300 } },
  });
}

const code = (c: string) => (e: unknown) => isRpcError(e, c as never);

describe('actors over TLS: supervision', () => {
  it('onStart fails twice: the calls a client made meanwhile are served by the third, fresh instance', async () => {
    reset(2);
    p = await serverPair();
    const ref = p.client.ref<Store>('store', p.peer);
    const registered = p.server.register('store', Store, { restart: { backoffMs: 20 } });
    const calls = [ref.get(), ref.get(), ref.get()];
    await registered;
    const served = await Promise.all(calls);
    assert.deepEqual(
      served.map((s) => s.instance),
      [3, 3, 3],
    );
    assert.equal(new Set(served.map((s) => s.pool)).size, 1);
    assert.equal(Store.stops, 0, 'an instance whose start failed gets no onStop');
    assert.equal(errors.length, 2);
    assert.ok(
      errors.every((e) => isRpcError(e, 'UNAVAILABLE') && /the database is down; restart/.test(e.message)),
    );
    assert.equal(p.server.stats().restarts, 2);
  });

  it('a fatal error answers its call, aborts the other running call UNAVAILABLE at once, and restarts', async () => {
    reset(0);
    p = await serverPair();
    await p.server.register('store', Store, {
      restart: { backoffMs: 10 },
      concurrency: 2,
      fatal: (e) => e instanceof PoolBroken,
    });
    const ref = p.client.ref<Store>('store', p.peer);
    const before = await ref.get();
    const began = Date.now();
    const running = ref.hold(10_000).catch((e: unknown) => e);
    await eventually(() => p!.server.stats().servedCalls === 1, 'the hold call to run');
    // An unexpected error reaches the peer masked (INTERNAL, with an error id), and still counts as fatal.
    await assert.rejects(ref.corrupt(), (e) => isRpcError(e, 'INTERNAL') && e.errorId !== undefined);
    const outcome = await running;
    assert.ok(isRpcError(outcome, 'UNAVAILABLE'), `the running call got ${String(outcome)}`);
    assert.ok(Date.now() - began < 2_000, 'the aborted caller learnt it at once, not at a deadline');
    const after = await ref.get();
    assert.equal(after.instance, 2);
    assert.notEqual(after.pool, before.pool, 'the fresh instance has a fresh dependency');
    assert.equal(Store.stops, 1, 'the broken instance was stopped');
    assert.equal(p.server.stats().connections, 1, 'the connection stayed up');
    assert.equal(errors.length, 1);
  });

  it('when the restarts are used up, remote calls fail UNAVAILABLE', async () => {
    reset(1_000);
    p = await serverPair();
    const ref = p.client.ref<Store>('store', p.peer);
    const registered = p.server.register('store', Store, { restart: { maxRestarts: 2, backoffMs: 5 } });
    const waiting = ref.get().catch((e: unknown) => e);
    await assert.rejects(registered, /start 3: the database is down/);
    assert.ok(isRpcError(await waiting, 'UNAVAILABLE'));
    await assert.rejects(ref.get(), code('UNAVAILABLE'));
    assert.equal(errors.length, 3);
    assert.match((errors[2] as Error).message, /used up: it stays failed/);
  });

  it('unregister: a running call finishes, a queued one is refused, then NOT_FOUND; registered again, the same ref works', async () => {
    reset(0);
    p = await serverPair();
    await p.server.register('store', Store);
    const ref = p.client.ref<Store>('store', p.peer);
    const running = ref.hold(200);
    const queued = ref.get().catch((e: unknown) => e);
    await eventually(() => p!.server.stats().servedCalls === 2, 'both calls to reach the server');
    const leaving = p.server.unregister('store');
    assert.ok(isRpcError(await queued, 'UNAVAILABLE'));
    assert.equal(await running, 'held 1');
    await leaving;
    assert.equal(Store.stops, 1);
    await assert.rejects(ref.get(), code('NOT_FOUND'));
    await p.server.register('store', Store);
    assert.equal((await ref.get()).instance, 2);
  });
});
