/**
 * ActorSystem.close() for calls made in this process (local refs): the same promises as over the
 * network (specs/integration/actors-shutdown.spec.ts), and the local caller learns at once.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActorSystem, actor, callContext, isRpcError } from '../../src/actors/index.js';

const log: string[] = [];

@actor('desk')
class Desk {
  async work(ms: number): Promise<string> {
    log.push(`start ${ms}`);
    await sleep(ms);
    return 'done';
  }
  /** Ignores its signal; records it. */
  async ignore(ms: number): Promise<string> {
    const { signal } = callContext();
    signal.addEventListener('abort', () => log.push(`aborted ${(signal.reason as { code: string }).code}`));
    await sleep(ms);
    return 'ignored';
  }
  async onStop(): Promise<void> {
    await sleep(50);
    log.push('stopped');
  }
}

@actor('broken')
class Broken {
  onStop(): void {
    throw new Error('cannot stop');
  }
}

const settle = (p: PromiseLike<unknown>) =>
  Promise.resolve(p).then(
    (v) => v,
    (e: unknown) => e,
  );

describe('ActorSystem.close() with local calls', () => {
  it('answers a queued local call UNAVAILABLE at once, lets the running one finish, then runs onStop', async () => {
    log.length = 0;
    const system = new ActorSystem({ config: { closeTimeoutMs: 5_000 } });
    await system.register(Desk);
    const desk = system.ref<Desk>('desk');
    const running = desk.work(100);
    const queued = settle(desk.work(1));
    const closed = system.close().then(() => log.push('closed'));
    const refused = await queued;
    assert.ok(isRpcError(refused, 'UNAVAILABLE'), String(refused));
    assert.deepEqual(log, ['start 100'], 'refused before the running call ended');
    assert.equal(await running, 'done');
    await closed;
    assert.deepEqual(log, ['start 100', 'stopped', 'closed']);
    const after = await settle(desk.work(1));
    assert.ok(isRpcError(after, 'UNAVAILABLE'), 'a call after close fails UNAVAILABLE');
  });

  it('aborts a local call still running at closeTimeoutMs: its caller gets UNAVAILABLE then, not when it ends', async () => {
    log.length = 0;
    const system = new ActorSystem({ config: { closeTimeoutMs: 100 } });
    await system.register(Desk);
    const call = settle(system.ref<Desk>('desk').ignore(1_000));
    await sleep(10);
    const began = Date.now();
    await system.close();
    const took = Date.now() - began;
    assert.ok(took >= 90 && took < 300, `close() took ${took} ms for closeTimeoutMs 100`);
    const outcome = await call;
    assert.ok(isRpcError(outcome, 'UNAVAILABLE'), String(outcome));
    assert.ok(Date.now() - began < 300, 'the caller learnt it at the deadline');
    assert.deepEqual(log, ['aborted UNAVAILABLE', 'stopped']);
  });

  it('closeTimeoutMs 0 aborts at once; an onStop that throws goes to onError and close() still resolves', async () => {
    log.length = 0;
    const errors: unknown[] = [];
    const system = new ActorSystem({ config: { closeTimeoutMs: 0 }, onError: (e) => errors.push(e) });
    await system.register(Desk);
    await system.register(Broken);
    const call = settle(system.ref<Desk>('desk').ignore(1_000));
    await sleep(10);
    const began = Date.now();
    await system.close();
    assert.ok(Date.now() - began < 200);
    assert.ok(isRpcError(await call, 'UNAVAILABLE'));
    assert.equal(errors.length, 1);
    assert.ok(isRpcError(errors[0], 'INTERNAL') && /cannot stop/.test(errors[0].message), String(errors[0]));
  });
});
