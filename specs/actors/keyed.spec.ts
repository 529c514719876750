/**
 * Keyed (virtual) actors through local refs: one activation per key (its own instance, key, order and
 * lifecycle), keys in parallel, key checks, passivation, maxActivations, state with memoryStateStore and
 * its optimistic concurrency. keyed-tls.spec.ts calls them over TLS; keyed-placement.spec.ts claims.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'tsyringe';
import {
  ACTOR_KEY,
  ACTOR_NAME,
  ACTOR_STATE,
  type ActorState,
  ActorSystem,
  type ActorSystemOptions,
  actor,
  callContext,
  isRpcError,
} from '../../src/actors/index.js';
import { memoryStateStore } from '../../src/cluster/memory-state.js';
import type { StateStore } from '../../src/cluster/placement.js';
import { isTransportError } from '../../src/transport/errors.js';

const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.close()));
});

function system(options: Partial<ActorSystemOptions> = {}): ActorSystem {
  const s = new ActorSystem({ config: { closeTimeoutMs: 300 }, ...options });
  systems.push(s);
  return s;
}

async function eventually(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; i < 10_000 && !check(); i++) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const events: string[] = [];

@actor('tally', { keyed: true })
class Tally {
  static made = 0;
  readonly id = ++Tally.made;
  private n = 0;
  /** Opened by a spec: `hold` waits on it. */
  static gates = new Map<string, () => void>();

  constructor(
    @inject(ACTOR_KEY) readonly key: string,
    @inject(ACTOR_NAME) readonly name: string,
  ) {}

  add(by: number): { key: string; name: string; id: number; n: number; ctxKey: string | undefined } {
    this.n += by;
    return { key: this.key, name: this.name, id: this.id, n: this.n, ctxKey: callContext().key };
  }

  async hold(tag: string): Promise<string> {
    events.push(`${this.key}:${tag}:start`);
    await new Promise<void>((resolve) => Tally.gates.set(`${this.key}:${tag}`, resolve));
    events.push(`${this.key}:${tag}:end`);
    return tag;
  }

  onStop(): void {
    events.push(`${this.key}:stop`);
  }
}

@actor('plain')
class Plain {
  hi(): string {
    return 'hi';
  }
}

@actor('counter', { keyed: true, state: true, idleMs: 60 })
class Counter {
  static stops: string[] = [];
  constructor(
    @inject(ACTOR_KEY) readonly key: string,
    @inject(ACTOR_STATE) readonly state: ActorState<{ n: number }>,
  ) {}

  async increment(by: number): Promise<number> {
    const s = this.state.value ?? { n: 0 };
    this.state.value = { n: s.n + by };
    await this.state.save();
    return this.state.value.n;
  }

  read(): { n: number | undefined; version: number } {
    return { n: this.state.value?.n, version: this.state.version };
  }

  async reset(): Promise<number> {
    await this.state.clear();
    return this.state.version;
  }

  onStop(): void {
    Counter.stops.push(this.key);
  }
}

describe('keyed actors (local refs)', () => {
  it('gives each key its own activation: instance, injected key, callContext().key', async () => {
    const s = system();
    await s.register(Tally);
    const a = s.ref<Tally>('tally', 'a');
    const b = s.ref<Tally>('tally', 'b');
    const a1 = await a.add(1);
    const a2 = await a.add(2);
    const b1 = await b.add(10);
    assert.deepEqual([a1.key, a1.name, a1.ctxKey, a2.n], ['a', 'tally', 'a', 3]);
    assert.equal(a1.id, a2.id, 'the same activation for the same key');
    assert.notEqual(a1.id, b1.id, 'another activation for another key');
    assert.deepEqual([b1.key, b1.n, b1.ctxKey], ['b', 10, 'b']);
    const st = s.stats();
    assert.deepEqual([st.activations, st.activated, st.passivated, st.actors], [2, 2, 0, 1]);
  });

  it('runs one call at a time per key, in order, and different keys in parallel', async () => {
    events.length = 0;
    const s = system();
    await s.register(Tally);
    const a = s.ref<Tally>('tally', 'a');
    const b = s.ref<Tally>('tally', 'b');
    const first = a.hold('1');
    const second = a.hold('2');
    const other = b.hold('1');
    await eventually(() => Tally.gates.has('a:1') && Tally.gates.has('b:1'), 'both keys running');
    assert.ok(!Tally.gates.has('a:2'), 'the second call of key a waits for the first');
    Tally.gates.get('b:1')!();
    assert.equal(await other, '1', 'key b ends while key a is still busy');
    Tally.gates.get('a:1')!();
    await eventually(() => Tally.gates.has('a:2'), 'the second call of key a');
    Tally.gates.get('a:2')!();
    assert.deepEqual(await Promise.all([first, second]), ['1', '2']);
    assert.deepEqual(
      events.filter((e) => e.startsWith('a:')),
      ['a:1:start', 'a:1:end', 'a:2:start', 'a:2:end'],
    );
    Tally.gates.clear();
  });

  it('refuses a keyed actor without a key, and an unkeyed one with a key: INVALID_ARGUMENT', async () => {
    const s = system();
    await s.register(Tally);
    await s.register(Plain);
    await assert.rejects(
      s.ref<Tally>('tally').add(1),
      (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT') && /needs a key/.test(e.message),
    );
    await assert.rejects(
      s.ref<Plain>('plain', 'k').hi(),
      (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT') && /not keyed/.test(e.message),
    );
    assert.throws(
      () => s.ref<Tally>('tally', ''),
      (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => s.ref<Tally>('tally', 'x'.repeat(257)),
      (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT'),
    );
    assert.equal(s.stats().activated, 0);
  });

  it('passivates an idle activation (onStop), and the next call makes a fresh one that reloads the state', async () => {
    Counter.stops.length = 0;
    const s = system({ stateStore: memoryStateStore() });
    await s.register(Counter);
    const c = s.ref<Counter>('counter', 'user-42');
    assert.equal(await c.increment(2), 2);
    assert.equal(await c.increment(3), 5);
    await eventually(() => s.stats().passivated === 1, 'the passivation');
    assert.deepEqual(Counter.stops, ['user-42']);
    assert.equal(s.stats().activations, 0);
    assert.deepEqual(await c.read(), { n: 5, version: 2 }, 'the fresh activation loaded the saved state');
    assert.equal(s.stats().activated, 2);
    assert.equal(await c.reset(), 3);
    assert.deepEqual(await c.read(), { n: undefined, version: 3 });
  });

  it('refuses activations beyond maxActivations (RESOURCE_EXHAUSTED, the call did not run)', async () => {
    const s = system();
    let ran = 0;
    @actor('capped', { keyed: true, maxActivations: 2, idleMs: 50 })
    class Capped {
      hit(): number {
        return ++ran;
      }
    }
    await s.register(Capped);
    await s.ref<Capped>('capped', 'a').hit();
    await s.ref<Capped>('capped', 'b').hit();
    await assert.rejects(
      s.ref<Capped>('capped', 'c').hit(),
      (e: unknown) => isRpcError(e, 'RESOURCE_EXHAUSTED') && /maxActivations/.test(e.message),
    );
    assert.equal(ran, 2);
    await s.ref<Capped>('capped', 'a').hit();
    await eventually(() => s.stats().activations === 0, 'both passivated');
    assert.equal(await s.ref<Capped>('capped', 'c').hit(), 4, 'room again once idle ones passivated');
  });

  it('saves with optimistic concurrency: a write behind the activation’s back makes its save STALE_STATE, then reloads', async () => {
    const store: StateStore = memoryStateStore();
    const s = system({ stateStore: store });
    await s.register('counter2', Counter, { idleMs: 60_000 });
    const c = s.ref<Counter>('counter2', 'k');
    assert.equal(await c.increment(1), 1);
    // Another writer moves the version.
    assert.equal(await store.save('counter2', 'k', { n: 100 }, 1), 2);
    await assert.rejects(
      c.increment(1),
      (e: unknown) => isRpcError(e, 'ABORTED') && e.reason === 'STALE_STATE',
    );
    assert.deepEqual(
      (await store.load('counter2', 'k')).value,
      { n: 100 },
      'the stale value was not written',
    );
    // The stale activation was passivated after that call: the next one reloads.
    assert.equal(await c.increment(1), 101);
    assert.equal(s.stats().passivated, 1);
    assert.equal(s.stats().activated, 2);
  });

  it('register: state without a state store is INVALID_CONFIG; keyed options need keyed', async () => {
    const s = system();
    assert.throws(
      () => s.register(Counter),
      (e: unknown) => isTransportError(e, 'INVALID_CONFIG'),
    );
    assert.throws(
      () => s.register('p2', Plain, { idleMs: 10 }),
      (e: unknown) => isTransportError(e, 'INVALID_CONFIG'),
    );
    assert.throws(
      () => s.register('p3', Plain, { keyed: true, maxActivations: 0 }),
      (e: unknown) => isTransportError(e, 'INVALID_CONFIG'),
    );
  });

  it('close() passivates every activation (onStop) and refuses new keyed calls', async () => {
    events.length = 0;
    const s = system();
    await s.register(Tally);
    await s.ref<Tally>('tally', 'x').add(1);
    await s.ref<Tally>('tally', 'y').add(1);
    await s.close();
    assert.deepEqual(events.sort(), ['x:stop', 'y:stop']);
    assert.deepEqual([s.stats().activations, s.stats().passivated], [0, 2]);
    await assert.rejects(s.ref<Tally>('tally', 'x').add(1), (e: unknown) => isRpcError(e, 'UNAVAILABLE'));
  });

  it('an activation that fails for good is dropped: the next call makes a fresh one', async () => {
    const s = system({ onError: () => {} });
    let starts = 0;
    @actor('fragile', { keyed: true })
    class Fragile {
      onStart(): void {
        if (++starts === 1) throw new Error('first start fails');
      }
      ok(): string {
        return callContext().key!;
      }
    }
    await s.register(Fragile);
    await assert.rejects(s.ref<Fragile>('fragile', 'k').ok(), (e: unknown) => isRpcError(e, 'UNAVAILABLE'));
    await eventually(() => s.stats().activations === 0, 'the failed activation dropped');
    assert.equal(await s.ref<Fragile>('fragile', 'k').ok(), 'k');
  });
});
