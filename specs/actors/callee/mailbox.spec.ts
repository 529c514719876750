import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { Mailbox } from '../../../src/actors/callee/mailbox.js';
import { isRpcError } from '../../../src/actors/errors.js';

/** A job that records when it starts and ends, and takes `delay` ms (0: a microtask). */
function job(log: string[], id: number, delay: number, active: { now: number; max: number }) {
  return async () => {
    log.push(`start ${id}`);
    active.now++;
    active.max = Math.max(active.max, active.now);
    if (delay > 0) await sleep(delay);
    else await Promise.resolve();
    active.now--;
    log.push(`end ${id}`);
    return id;
  };
}

describe('Mailbox', () => {
  it('with concurrency 1, runs jobs one at a time in posting order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 12 }),
        async (delays) => {
          const mailbox = new Mailbox('m', 1, 0);
          const log: string[] = [];
          const active = { now: 0, max: 0 };
          const results = await Promise.all(delays.map((d, i) => mailbox.post(job(log, i, d, active))));
          assert.deepEqual(
            results,
            delays.map((_, i) => i),
          );
          assert.deepEqual(
            log,
            delays.flatMap((_, i) => [`start ${i}`, `end ${i}`]),
          );
          assert.equal(active.max, 1);
          await mailbox.close();
        },
      ),
      { numRuns: 30 },
    );
  });

  it('with concurrency N, runs at most N at once and starts them in posting order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 12 }),
        async (n, delays) => {
          const mailbox = new Mailbox('m', n, 0);
          const log: string[] = [];
          const active = { now: 0, max: 0 };
          await Promise.all(delays.map((d, i) => mailbox.post(job(log, i, d, active))));
          assert.ok(active.max <= n);
          const starts = log.filter((l) => l.startsWith('start')).map((l) => Number(l.slice(6)));
          assert.deepEqual(
            starts,
            delays.map((_, i) => i),
          );
          await mailbox.close();
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a job that throws fails only its own post; the next one runs', async () => {
    const mailbox = new Mailbox('m', 1, 0);
    const first = mailbox.post(() => {
      throw new Error('boom');
    });
    const second = mailbox.post(() => 'ok');
    await assert.rejects(first, /boom/);
    assert.equal(await second, 'ok');
    await mailbox.close();
  });

  it('refuses a job beyond its capacity with RESOURCE_EXHAUSTED', async () => {
    const mailbox = new Mailbox('m', 1, 2);
    let release!: () => void;
    const running = mailbox.post(() => new Promise<void>((r) => (release = r)));
    await Promise.resolve(); // the first job has started: it no longer waits
    const waiting = [mailbox.post(() => 1), mailbox.post(() => 2)];
    assert.equal(mailbox.size, 2);
    await assert.rejects(
      mailbox.post(() => 3),
      (e) => isRpcError(e, 'RESOURCE_EXHAUSTED'),
    );
    release();
    await running;
    assert.deepEqual(await Promise.all(waiting), [1, 2]);
    await mailbox.close();
  });

  it('close() refuses the queued jobs at once (UNAVAILABLE, never run), waits for the running one, then refuses new ones', async () => {
    const mailbox = new Mailbox('m', 1, 0);
    const log: string[] = [];
    const active = { now: 0, max: 0 };
    const running = mailbox.post(job(log, 0, 30, active));
    const queued = [mailbox.post(job(log, 1, 1, active)), mailbox.post(job(log, 2, 1, active))];
    const order: string[] = [];
    for (const [i, q] of queued.entries()) {
      q.then(
        () => order.push(`resolved ${i + 1}`),
        (e: unknown) => order.push(`${isRpcError(e, 'UNAVAILABLE') ? 'refused' : String(e)} ${i + 1}`),
      );
    }
    const closed = mailbox.close().then(() => order.push('closed'));
    await Promise.allSettled(queued);
    assert.deepEqual(order, ['refused 1', 'refused 2'], 'refused before the running job ended');
    assert.equal(mailbox.size, 0);
    assert.equal(await running, 0);
    await closed;
    assert.deepEqual(order, ['refused 1', 'refused 2', 'closed']);
    assert.deepEqual(log, ['start 0', 'end 0'], 'the queued jobs never started');
    await assert.rejects(
      mailbox.post(() => 1),
      (e) => isRpcError(e, 'UNAVAILABLE'),
    );
    await mailbox.close(); // idempotent
  });

  it('close() of an idle mailbox resolves at once; with concurrency N it waits for every running job', async () => {
    await new Mailbox('idle', 1, 0).close();
    const mailbox = new Mailbox('m', 3, 0);
    const log: string[] = [];
    const active = { now: 0, max: 0 };
    const jobs = [5, 15, 25].map((d, i) => mailbox.post(job(log, i, d, active)));
    assert.equal(mailbox.active, 3);
    await mailbox.close();
    assert.equal(mailbox.active, 0);
    assert.deepEqual(await Promise.all(jobs), [0, 1, 2]);
  });
});

describe('Mailbox hold and forgetRunning', () => {
  it('holds jobs posted while held, and runs them in order once released', async () => {
    const mailbox = new Mailbox('m', 2, 3);
    mailbox.hold();
    const log: string[] = [];
    const posted = [1, 2, 3].map((i) => mailbox.post(() => log.push(`run ${i}`)));
    await sleep(5);
    assert.deepEqual(log, [], 'nothing ran while held');
    assert.equal(mailbox.size, 3);
    await assert.rejects(
      mailbox.post(() => 0),
      (e) => isRpcError(e, 'RESOURCE_EXHAUSTED'),
      'capacity still applies',
    );
    mailbox.release();
    await Promise.all(posted);
    assert.deepEqual(log, ['run 1', 'run 2', 'run 3']);
  });

  it('forgets the jobs running: the next job starts, their outcome still reaches them, close waits not', async () => {
    const mailbox = new Mailbox('m', 1, 0);
    let finish!: (v: string) => void;
    const stuck = mailbox.post(() => new Promise<string>((resolve) => (finish = resolve)));
    const next = mailbox.post(() => 'next');
    await sleep(5);
    assert.equal(mailbox.active, 1);
    mailbox.forgetRunning();
    mailbox.release();
    assert.equal(await next, 'next', 'the next job did not wait for the forgotten one');
    await mailbox.close();
    finish('late');
    assert.equal(await stuck, 'late');
    assert.equal(mailbox.active, 0, 'the forgotten job did not count down twice');
  });

  it('close(why) names what the actor is in the errors of the jobs it refuses', async () => {
    const mailbox = new Mailbox('m', 1, 0);
    mailbox.hold();
    const queued = mailbox.post(() => 0);
    await mailbox.close('failed');
    await assert.rejects(queued, (e) => isRpcError(e, 'UNAVAILABLE') && /m is failed/.test(e.message));
    await assert.rejects(
      mailbox.post(() => 0),
      (e) => isRpcError(e, 'UNAVAILABLE') && /m is failed/.test(e.message),
    );
  });
});
