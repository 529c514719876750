/**
 * A graceful server shutdown seen from a client, over TLS 1.3: `system.close()` lets the calls in
 * flight finish; a call the client starts meanwhile fails at once with UNAVAILABLE (before the calls in
 * flight end, not after a timeout); once a new system serves the same identity on the same port, the
 * client's same ref works again.
 *
 * And what close() promises (issue 11, finding 5): a call still queued in a mailbox is answered
 * UNAVAILABLE at once and never starts; calls still running get `closeTimeoutMs` IN TOTAL, then their
 * handlers' signals abort (UNAVAILABLE) and their callers fail UNAVAILABLE; every actor's `onStop` has
 * finished before close() resolves.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActorSystem, actor, callContext, isRpcError } from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

@actor('worker', { concurrency: 8 })
class Worker {
  ping(): string {
    return 'pong';
  }
  async hold(ms: number): Promise<string> {
    await sleep(ms);
    return 'held';
  }
}

/** What the actors below saw, in order: starts, aborts and stops, with ms since the spec's close began. */
const events: string[] = [];
/** Timers of handlers that ignore their signal, cleared after each spec. */
const stubborn = new Set<NodeJS.Timeout>();

/** One call at a time; counts the calls whose handler started. */
@actor('serial')
class Serial {
  starts = 0;
  async work(ms: number): Promise<string> {
    this.starts++;
    events.push(`start ${ms}`);
    await sleep(ms);
    return 'done';
  }
}

/** A handler that ignores its signal (only records it) and runs for `ms`. */
@actor('stubborn', { concurrency: 4 })
class Stubborn {
  async ignore(ms: number): Promise<string> {
    const { signal } = callContext();
    signal.addEventListener('abort', () => {
      events.push(`aborted ${isRpcError(signal.reason) ? signal.reason.code : String(signal.reason)}`);
    });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        stubborn.delete(timer);
        resolve();
      }, ms);
      stubborn.add(timer);
    });
    return 'ignored';
  }
  onStop(): void {
    events.push('stubborn stopped');
  }
}

/** An actor whose onStop takes a while. */
@actor('tidy')
class Tidy {
  ping(): string {
    return 'pong';
  }
  async onStop(): Promise<void> {
    await sleep(700);
    events.push('tidy stopped');
  }
}

let p: Pair | undefined;
let revived: ActorSystem | undefined;
afterEach(async () => {
  for (const t of stubborn) clearTimeout(t);
  stubborn.clear();
  events.length = 0;
  await revived?.close();
  revived = undefined;
  await p?.close();
  p = undefined;
});

describe('actors over TLS: graceful server shutdown', () => {
  it('calls in flight finish, new calls fail fast UNAVAILABLE, the same ref works once the server is back', async () => {
    p = await pair({ server: { config: { closeTimeoutMs: 10_000 } } });
    p.server.register('worker', Worker);
    const ref = p.client.ref<Worker>('worker', p.peer);
    assert.equal(await ref.ping(), 'pong');

    let inFlightDone = false;
    const inFlight = Promise.all([ref.hold(800), ref.hold(800), ref.hold(800)]).finally(() => {
      inFlightDone = true;
    });
    await sleep(50);
    const closing = p.server.close();
    await sleep(20);

    // While the server drains, a new call is refused at once, whether it meets the GoAway or the closed port.
    for (let i = 0; i < 3; i++) {
      await assert.rejects(ref.ping(), (e: unknown) => isRpcError(e, 'UNAVAILABLE'));
      assert.equal(inFlightDone, false, 'the new call waited for the calls in flight');
    }
    assert.deepEqual(await inFlight, ['held', 'held', 'held']);
    await closing;

    revived = new ActorSystem({
      identity: p.serverId,
      authorizedKeys: [{ key: p.clientId.id, name: 'alice' }],
    });
    revived.register('worker', Worker);
    await revived.listen({ port: p.peer.port });

    // The ref may be in its reconnect backoff (100 ms, doubling): retry, bounded in count and time.
    const until = Date.now() + 5_000;
    let answer: string | undefined;
    for (let i = 0; i < 100 && answer === undefined && Date.now() < until; i++) {
      try {
        answer = await ref.ping();
      } catch (e) {
        assert.ok(isRpcError(e, 'UNAVAILABLE'), String(e));
        await sleep(50);
      }
    }
    assert.equal(answer, 'pong', 'the same ref works against the new server');
  });

  it('a call queued behind a running one is answered UNAVAILABLE at once, and never starts', async () => {
    p = await pair({ server: { config: { closeTimeoutMs: 5_000 } } });
    await p.server.register(Serial);
    // The actor's cell (reaches into internals: specs only).
    const cells = (p.server as unknown as { cells: Map<string, { instance: Serial; queued: number }> }).cells;
    const serial = cells.get('serial')!;
    const ref = p.client.ref<Serial>('serial', p.peer);
    const running = ref.work(600);
    await eventually(() => serial.instance.starts === 1, 'the first call to start');
    const queued = ref.work(1).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await eventually(() => serial.queued === 1, 'the second call to wait in the mailbox');
    const began = Date.now();
    const closing = p.server.close();
    assert.equal(p.server.close(), closing, 'a second close() returns the same promise');
    const outcome = await queued;
    const answeredIn = Date.now() - began;
    assert.ok(isRpcError(outcome, 'UNAVAILABLE'), `the queued call got ${String(outcome)}`);
    assert.ok(answeredIn < 300, `the queued call was answered ${answeredIn} ms after close() began`);
    // A new connection is refused while the running call finishes.
    const late = p.opsClient().ref<Serial>('serial', p.peer);
    await assert.rejects(late.work(1), (e) => isRpcError(e, 'UNAVAILABLE'));
    assert.equal(await running, 'done', 'the running call finishes');
    await closing;
    assert.equal(serial.instance.starts, 1, 'the queued call never started');
    assert.deepEqual(events, ['start 600']);
  });

  it('running calls get closeTimeoutMs in total: then their signals abort UNAVAILABLE and close() resolves', async (t) => {
    const closeTimeoutMs = 300;
    p = await pair({ server: { config: { closeTimeoutMs } } });
    await p.server.register(Stubborn);
    const ref = p.client.ref<Stubborn>('stubborn', p.peer);
    const calls = [ref.ignore(10_000), ref.ignore(10_000)].map((c) =>
      c.then(
        () => 'resolved',
        (e: unknown) => e,
      ),
    );
    await eventually(() => p!.server.stats().servedCalls === 2, 'both calls to run');
    const began = Date.now();
    await p.server.close();
    const took = Date.now() - began;
    t.diagnostic(`close() took ${took} ms for closeTimeoutMs ${closeTimeoutMs}`);
    assert.ok(
      took >= closeTimeoutMs - 10 && took < closeTimeoutMs + 200,
      `close() took ${took} ms for closeTimeoutMs ${closeTimeoutMs}`,
    );
    assert.deepEqual(events, ['aborted UNAVAILABLE', 'aborted UNAVAILABLE', 'stubborn stopped']);
    for (const outcome of await Promise.all(calls)) {
      assert.ok(isRpcError(outcome, 'UNAVAILABLE'), `a cut call got ${String(outcome)}`);
    }
    assert.ok(Date.now() - began < closeTimeoutMs + 400, 'the callers learnt it at once');
  });

  it('close() resolves only after every onStop has finished', async () => {
    p = await pair({ server: { config: { closeTimeoutMs: 300 } } });
    await p.server.register(Tidy);
    await p.server.register(Stubborn);
    const ref = p.client.ref<Stubborn>('stubborn', p.peer);
    const call = ref.ignore(2_000).catch(() => undefined);
    await eventually(() => p!.server.stats().servedCalls === 1, 'the call to run');
    await p.server.close();
    assert.deepEqual([...events].sort(), ['aborted UNAVAILABLE', 'stubborn stopped', 'tidy stopped']);
    await call;
  });
});
