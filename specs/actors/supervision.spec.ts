/**
 * Supervision through local refs (no transport): restarts after a failed onStart or a fatal handler
 * error, the restart budget, and unregister. specs/integration/actors-supervision.spec.ts does the same
 * over TLS.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject, injectable, Lifecycle, scoped } from 'tsyringe';
import {
  ACTOR_NAME,
  ActorSystem,
  type ActorSystemOptions,
  actor,
  callContext,
  isRpcError,
} from '../../src/actors/index.js';
import { isTransportError } from '../../src/transport/errors.js';

const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.close()));
});

function system(errors: unknown[] = [], options: Partial<ActorSystemOptions> = {}): ActorSystem {
  const s = new ActorSystem({ onError: (e) => errors.push(e), config: { closeTimeoutMs: 500 }, ...options });
  systems.push(s);
  return s;
}

const code = (c: string) => (e: unknown) => isRpcError(e, c as never);

async function eventually(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; i < 10_000 && !check(); i++) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A dependency resolved anew in each child container, so each instance of an actor gets its own. */
@scoped(Lifecycle.ContainerScoped)
class Connection {
  static made = 0;
  readonly id = ++Connection.made;
  closed = false;
  dispose(): void {
    this.closed = true;
  }
}

class Broken extends Error {}

/** Fails its first `failures` starts; records every instance's life. */
@injectable()
class Flaky {
  static failures = 0;
  static constructed = 0;
  static events: string[] = [];
  static instances: Flaky[] = [];
  readonly n = ++Flaky.constructed;

  constructor(
    readonly db: Connection,
    @inject(ACTOR_NAME) readonly actorName: string,
  ) {
    Flaky.instances.push(this);
  }

  onStart(): void {
    Flaky.events.push(`start ${this.n}`);
    if (Flaky.failures > 0) {
      Flaky.failures--;
      throw new Error(`start ${this.n} failed`);
    }
  }

  onStop(): void {
    Flaky.events.push(`stop ${this.n}`);
  }

  whoami(): { n: number; db: number; name: string } {
    return { n: this.n, db: this.db.id, name: this.actorName };
  }

  explode(fatal: boolean): void {
    throw fatal ? new Broken(`instance ${this.n} is broken`) : new Error(`call on ${this.n} failed`);
  }

  async hold(ms: number): Promise<string> {
    const { signal } = callContext();
    try {
      await sleep(ms, undefined, { signal });
    } catch {
      Flaky.events.push(`aborted ${this.n} ${(signal.reason as { code?: string }).code}`);
      throw signal.reason;
    }
    return `held ${this.n}`;
  }
}

function reset(failures: number): void {
  Flaky.failures = failures;
  Flaky.constructed = 0;
  Flaky.events = [];
  Flaky.instances = [];
}

const isBroken = (e: unknown) => e instanceof Broken;

describe('restart on failure', () => {
  it('onStart fails twice, then calls queued meanwhile are served by a fresh instance with fresh dependencies', async () => {
    reset(2);
    const errors: unknown[] = [];
    const s = system(errors);
    const dbBefore = Connection.made;
    const ref = s.ref<Flaky>('flaky');
    const registered = s.register('flaky', Flaky, { restart: { backoffMs: 10 } });
    const queued = [ref.whoami(), ref.whoami()];
    await registered;
    const served = await Promise.all(queued);
    assert.deepEqual(
      served.map((w) => w.n),
      [3, 3],
      'both queued calls ran on the third instance',
    );
    assert.equal(
      served[0]!.db,
      dbBefore + 3,
      'each instance got its own Connection from a new child container',
    );
    assert.equal(served[0]!.name, 'flaky');
    assert.deepEqual(Flaky.events, ['start 1', 'start 2', 'start 3'], 'no onStop after a failed start');
    assert.equal(errors.length, 2, 'each restart is reported');
    for (const [i, e] of errors.entries()) {
      assert.ok(isRpcError(e, 'UNAVAILABLE'), String(e));
      assert.match(e.message, new RegExp(`onStart failed: start ${i + 1} failed; restart ${i + 1} of 10`));
      assert.equal((e.cause as Error).message, `start ${i + 1} failed`);
      assert.deepEqual(e.details, { actor: 'flaky', restarts: i + 1, backoffMs: 10 * 2 ** i });
    }
    assert.equal(s.stats().restarts, 2);
  });

  it('once maxRestarts are used up, the actor is failed: UNAVAILABLE for queued and new calls, reported once', async () => {
    reset(100);
    const errors: unknown[] = [];
    const s = system(errors);
    const ref = s.ref<Flaky>('flaky');
    const registered = s.register('flaky', Flaky, { restart: { maxRestarts: 2, backoffMs: 1 } });
    const queued = ref.whoami();
    await assert.rejects(registered, /start 3 failed/, 'register() rejects with the last failure');
    await assert.rejects(queued, code('UNAVAILABLE'));
    await assert.rejects(ref.whoami(), code('UNAVAILABLE'));
    assert.equal(Flaky.constructed, 3, 'the first start and two restarts');
    assert.equal(errors.length, 3, 'two restarts and the final failure');
    const last = errors[2];
    assert.ok(isRpcError(last, 'UNAVAILABLE'));
    assert.match(last.message, /2 restarts within 60000 ms used up: it stays failed/);
    assert.equal(s.stats().restarts, 2);
  });

  it('a fatal handler error answers its call, then restarts the actor; a non-fatal one does not', async () => {
    reset(0);
    const errors: unknown[] = [];
    const s = system(errors);
    await s.register('flaky', Flaky, { restart: 'on-failure', fatal: isBroken });
    const ref = s.ref<Flaky>('flaky');
    await assert.rejects(ref.explode(false), /call on 1 failed/);
    assert.equal((await ref.whoami()).n, 1, 'a non-fatal error keeps the instance');
    assert.equal(errors.length, 0);
    await assert.rejects(
      ref.explode(true),
      (e) => isRpcError(e, 'INTERNAL') && /instance 1 is broken/.test(e.message),
    );
    const after = await ref.whoami();
    assert.equal(after.n, 2, 'the next call is served by a fresh instance');
    assert.deepEqual(Flaky.events, ['start 1', 'stop 1', 'start 2']);
    assert.equal(Flaky.instances[0]!.db.closed, true, "the old instance's container was disposed");
    assert.equal(Flaky.instances[1]!.db.closed, false);
    assert.notEqual(after.db, Flaky.instances[0]!.db.id);
    assert.equal(errors.length, 1);
    assert.match(
      (errors[0] as Error).message,
      /a handler failed fatally: instance 1 is broken; restart 1 of/,
    );
    assert.ok((errors[0] as Error).cause instanceof Broken);
  });

  it('a fatal error aborts the other running calls (UNAVAILABLE) and frees their places for the new instance', async () => {
    reset(0);
    const s = system();
    await s.register('flaky', Flaky, { restart: { backoffMs: 0 }, concurrency: 2, fatal: isBroken });
    const ref = s.ref<Flaky>('flaky');
    const running = ref.hold(10_000).catch((e: unknown) => e);
    await eventually(() => s.stats().actors === 1 && Flaky.events.length === 1, 'start');
    await sleep(10);
    await assert.rejects(ref.explode(true), /broken/);
    const outcome = await running;
    assert.ok(isRpcError(outcome, 'UNAVAILABLE'), `the running call got ${String(outcome)}`);
    assert.deepEqual(await Promise.all([ref.hold(1), ref.hold(1)]), ['held 2', 'held 2']);
    // The handler sees its signal's abort when it next runs: before or after onStop, which does not wait.
    assert.deepEqual([...Flaky.events].sort(), ['aborted 1 UNAVAILABLE', 'start 1', 'start 2', 'stop 1']);
    assert.equal(Flaky.events.at(-1), 'start 2');
  });

  it("under restart 'never' a fatal error fails the actor: stopped, reported, UNAVAILABLE", async () => {
    reset(0);
    const errors: unknown[] = [];
    const s = system(errors);
    await s.register('flaky', Flaky, { fatal: isBroken });
    const ref = s.ref<Flaky>('flaky');
    await assert.rejects(ref.explode(true), /broken/);
    await assert.rejects(ref.whoami(), code('UNAVAILABLE'));
    assert.deepEqual(Flaky.events, ['start 1', 'stop 1']);
    assert.equal(errors.length, 1);
    assert.match(
      (errors[0] as Error).message,
      /actor flaky failed: a handler failed fatally: instance 1 is broken$/,
    );
  });

  it('a fatal() that throws is reported, and the error is not fatal', async () => {
    reset(0);
    const errors: unknown[] = [];
    const s = system(errors);
    const fatal = () => {
      throw new Error('oops');
    };
    await s.register('flaky', Flaky, { restart: 'on-failure', fatal });
    const ref = s.ref<Flaky>('flaky');
    await assert.rejects(ref.explode(true), /broken/);
    assert.equal((await ref.whoami()).n, 1);
    assert.ok(isRpcError(errors[0], 'INTERNAL') && /fatal\(\) threw: oops/.test(errors[0].message));
  });

  it('backs off exponentially between restarts (bounded from below; loosely from above)', async () => {
    reset(3);
    const s = system();
    const began = Date.now();
    await s.register('flaky', Flaky, { restart: { backoffMs: 50, maxBackoffMs: 100 } });
    const took = Date.now() - began;
    // 50 + 100 + 100 (capped): at least 250 ms; the upper bound only catches a wait that did not stop.
    assert.ok(took >= 245, `three restarts took ${took} ms`);
    assert.ok(took < 5_000, `three restarts took ${took} ms`);
  });

  it('a call waiting through a restart keeps its deadline', async () => {
    reset(1);
    const s = system();
    const ref = s.ref<Flaky>('flaky');
    void s.register('flaky', Flaky, { restart: { backoffMs: 2_000 } });
    const began = Date.now();
    await assert.rejects(ref.withOptions({ timeoutMs: 50 }).whoami(), code('DEADLINE_EXCEEDED'));
    assert.ok(Date.now() - began < 1_500, 'failed at its deadline, not after the backoff');
  });

  it('close() during a restart backoff ends promptly, and register() rejects UNAVAILABLE', async () => {
    reset(1);
    const s = system();
    const registered = s.register('flaky', Flaky, { restart: { backoffMs: 60_000, maxBackoffMs: 60_000 } });
    const queued = s.ref<Flaky>('flaky').whoami();
    await eventually(() => Flaky.events.length === 1, 'the failed start');
    const began = Date.now();
    await s.close();
    assert.ok(Date.now() - began < 1_000, `close() took ${Date.now() - began} ms`);
    await assert.rejects(queued, code('UNAVAILABLE'));
    await assert.rejects(registered, code('UNAVAILABLE'));
    assert.equal(Flaky.constructed, 1, 'no restart after close()');
  });

  it('with concurrency above 1, calls made during an async onStart wait for it', async () => {
    @actor('slow-start', { concurrency: 4 })
    class SlowStart {
      ready = false;
      async onStart(): Promise<void> {
        await sleep(20);
        this.ready = true;
      }
      isReady(): boolean {
        return this.ready;
      }
    }
    const s = system();
    void s.register(SlowStart);
    const ref = s.ref<SlowStart>('slow-start');
    assert.deepEqual(await Promise.all([ref.isReady(), ref.isReady()]), [true, true]);
  });
});

describe('unregister', () => {
  it('frees the name: calls fail NOT_FOUND, register works again, and refs made before reach the new actor', async () => {
    reset(0);
    const s = system();
    await s.register('flaky', Flaky);
    const ref = s.ref<Flaky>('flaky');
    assert.equal((await ref.whoami()).n, 1);
    await s.unregister('flaky');
    assert.deepEqual(Flaky.events, ['start 1', 'stop 1']);
    await assert.rejects(ref.whoami(), code('NOT_FOUND'));
    assert.equal(s.stats().actors, 0);
    await s.register('flaky', Flaky);
    assert.equal((await ref.whoami()).n, 2, 'the ref made before finds the new registration');
  });

  it('frees the name of an actor whose start failed, so it can be registered again', async () => {
    reset(1);
    const errors: unknown[] = [];
    const s = system(errors);
    await assert.rejects(s.register('flaky', Flaky), /start 1 failed/);
    await assert.rejects(s.ref<Flaky>('flaky').whoami(), code('UNAVAILABLE'));
    await s.unregister('flaky');
    await s.register('flaky', Flaky);
    assert.equal((await s.ref<Flaky>('flaky').whoami()).n, 2);
    assert.deepEqual(Flaky.events, ['start 1', 'start 2']);
  });

  it('stops gracefully: queued calls UNAVAILABLE at once, running ones finish, then onStop, then NOT_FOUND', async () => {
    reset(0);
    const s = system();
    await s.register('flaky', Flaky);
    const ref = s.ref<Flaky>('flaky');
    const running = ref.hold(150);
    const queued = ref.whoami().catch((e: unknown) => e);
    await sleep(20);
    const began = Date.now();
    const leaving = s.unregister('flaky');
    assert.equal(s.unregister('flaky'), leaving, 'a second call returns the same promise');
    const outcome = await queued;
    assert.ok(isRpcError(outcome, 'UNAVAILABLE'), `the queued call got ${String(outcome)}`);
    assert.ok(Date.now() - began < 100, 'the queued call was answered at once');
    await assert.rejects(ref.whoami(), code('UNAVAILABLE'), 'a new call while it stops');
    assert.throws(
      () => s.register('flaky', Flaky),
      code('INVALID_ARGUMENT'),
      'the name is taken until it resolves',
    );
    assert.equal(await running, 'held 1');
    await leaving;
    assert.deepEqual(Flaky.events, ['start 1', 'stop 1']);
    await assert.rejects(ref.whoami(), code('NOT_FOUND'));
  });

  it('aborts the handlers still running at closeTimeoutMs (UNAVAILABLE), then runs onStop', async () => {
    reset(0);
    const s = system([], { config: { closeTimeoutMs: 100 } });
    await s.register('flaky', Flaky);
    const running = s
      .ref<Flaky>('flaky')
      .hold(10_000)
      .catch((e: unknown) => e);
    await sleep(10);
    const began = Date.now();
    await s.unregister('flaky');
    const took = Date.now() - began;
    assert.ok(took >= 95 && took < 2_000, `unregister took ${took} ms`);
    assert.ok(isRpcError(await running, 'UNAVAILABLE'));
    assert.deepEqual([...Flaky.events].sort(), ['aborted 1 UNAVAILABLE', 'start 1', 'stop 1']);
  });

  it('during a restart backoff, ends it at once', async () => {
    reset(1);
    const s = system();
    void s.register('flaky', Flaky, { restart: { backoffMs: 60_000, maxBackoffMs: 60_000 } });
    await eventually(() => Flaky.events.length === 1, 'the failed start');
    const began = Date.now();
    await s.unregister('flaky');
    assert.ok(Date.now() - began < 1_000);
    assert.equal(Flaky.constructed, 1);
  });

  it('rejects NOT_FOUND for an unknown name', async () => {
    await assert.rejects(system().unregister('nobody'), code('NOT_FOUND'));
  });

  it('bad restart options are INVALID_CONFIG at register()', () => {
    const s = system();
    assert.throws(
      () => s.register('flaky', Flaky, { restart: { backoffMs: -5 } }),
      (e) => isTransportError(e, 'INVALID_CONFIG') && /restart\.backoffMs/.test(e.message),
    );
  });
});
