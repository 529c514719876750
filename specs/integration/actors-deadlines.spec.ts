/**
 * A caller's deadline as the server's handler sees it, over TLS 1.3: when the caller's own timer fires
 * first, the handler's signal must still say DEADLINE_EXCEEDED (not CANCELLED), and the caller must see
 * DEADLINE_EXCEEDED. A user's cancel well before the deadline stays CANCELLED.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { actor, callContext, isRpcError, type RpcErrorCode } from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

/** Why each handler's signal aborted, by call id; and the calls whose handler started. */
const reasons = new Map<string, unknown>();
const started = new Set<string>();

@actor('worker', { concurrency: 32 })
class Worker {
  ping(): string {
    return 'pong';
  }
  async slow(id: string, ms: number): Promise<string> {
    const ctx = callContext();
    started.add(id);
    try {
      await sleep(ms, undefined, { signal: ctx.signal });
    } catch (err) {
      reasons.set(id, ctx.signal.reason);
      throw err;
    }
    return 'done';
  }
}

/** Block this event loop (client and server both) for `ms`. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

const codeOf = (e: unknown): RpcErrorCode | string => (isRpcError(e) ? e.code : String(e));

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
  reasons.clear();
  started.clear();
});

describe("actors over TLS: the caller's deadline, as the handler sees it", () => {
  it('the caller was late past its deadline before the call left: DEADLINE_EXCEEDED on both sides', async () => {
    p = await pair();
    await p.server.register(Worker);
    const worker = p.client.ref<Worker>('worker', p.peer);
    assert.equal(await worker.ping(), 'pong'); // connected: the next call is sent synchronously
    for (let i = 0; i < 3; i++) {
      const id = `late-${i}`;
      // `then` sends the call now (its bytes wait for this tick to end); the loop then stays busy past
      // the 40 ms deadline, so the caller's timer fires before the server has even read the call.
      const outcome = worker
        .withOptions({ timeoutMs: 40 })
        .slow(id, 10_000)
        .then(
          () => 'resolved',
          (e: unknown) => codeOf(e),
        );
      busy(80);
      assert.equal(await outcome, 'DEADLINE_EXCEEDED');
      await eventually(() => reasons.has(id), `the handler of ${id} to stop`);
      assert.equal(codeOf(reasons.get(id)), 'DEADLINE_EXCEEDED', `${id}: the handler's reason`);
    }
    await eventually(() => p!.server.stats().servedCalls === 0, 'the server to end every call');
    assert.equal(p.client.stats().pendingCalls, 0);
  });

  it('a deadline that fires on both sides at about the same time: DEADLINE_EXCEEDED on both sides', async () => {
    p = await pair();
    await p.server.register(Worker);
    const plain = p.client.ref<Worker>('worker', p.peer);
    assert.equal(await plain.ping(), 'pong'); // connected first: dialling counts against a deadline
    const worker = plain.withOptions({ timeoutMs: 150 });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        worker.slow(`both-${i}`, 10_000).then(
          () => 'resolved',
          (e: unknown) => codeOf(e),
        ),
      ),
    );
    assert.deepEqual(new Set(outcomes), new Set(['DEADLINE_EXCEEDED']));
    await eventually(() => p!.server.stats().servedCalls === 0, 'the server to end every call');
    // A call can expire before its handler starts (a loaded machine): only started handlers have a reason.
    assert.ok(started.size > 0, 'some handlers started');
    assert.deepEqual(
      [...started].filter((id) => !reasons.has(id)),
      [],
      'every started handler stopped',
    );
    assert.deepEqual(new Set([...reasons.values()].map(codeOf)), new Set(['DEADLINE_EXCEEDED']));
  });

  it("a user's cancel well before the deadline stays CANCELLED", async () => {
    p = await pair();
    await p.server.register(Worker);
    const ac = new AbortController();
    const call = p.client
      .ref<Worker>('worker', p.peer)
      .withOptions({ timeoutMs: 10_000, signal: ac.signal })
      .slow('user', 10_000);
    await eventually(() => started.has('user'), 'the handler to start');
    ac.abort();
    await assert.rejects(call, (e) => isRpcError(e, 'CANCELLED'));
    await eventually(() => reasons.has('user'), 'the handler to stop');
    assert.equal(codeOf(reasons.get('user')), 'CANCELLED');
  });
});
