/**
 * A graceful server shutdown seen from a client, over TLS 1.3: `system.close()` lets the calls in
 * flight finish; a call the client starts meanwhile fails at once with UNAVAILABLE (before the calls in
 * flight end, not after a timeout); once a new system serves the same identity on the same port, the
 * client's same ref works again.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActorSystem, actor, isRpcError } from '../../src/actors/index.js';
import { type Pair, pair } from './actors-pair.js';

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

let p: Pair | undefined;
let revived: ActorSystem | undefined;
afterEach(async () => {
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
});
