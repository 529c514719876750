/**
 * Idle connections (ActorsConfig.idleTimeoutMs): a connection with no call in progress either way is
 * closed gracefully by the side whose timeout passes first; a call or a subscription in progress keeps
 * it open however long it lasts; a ref whose connection idled out dials again on its next call.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { interval, type Observable, take } from 'rxjs';
import { actor, callContext } from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

@actor('idler', { concurrency: 4 })
class Idler {
  ping(): string {
    return 'pong';
  }
  async hold(ms: number): Promise<string> {
    const ctx = callContext();
    await sleep(ms, undefined, { signal: ctx.signal });
    return 'held';
  }
  ticks(n: number): Observable<number> {
    return interval(50).pipe(take(n));
  }
}

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const IDLE = { idleTimeoutMs: 200 };

describe('actors over TLS: idle connections', () => {
  it('the client closes an idle connection, and its ref dials again on the next call', async () => {
    p = await pair({ client: { config: IDLE } });
    p.server.register('idler', Idler);
    const ref = p.client.ref<Idler>('idler', p.peer);
    assert.equal(await ref.ping(), 'pong');
    assert.equal(p.client.stats().connections, 1);
    const { server, client } = p;
    await eventually(
      () => client.stats().connections === 0 && server.stats().connections === 0,
      'the idle connection to close on both sides',
      3000,
    );
    assert.equal(await ref.ping(), 'pong', 'the ref dials again');
    assert.equal(client.stats().connections, 1);
  });

  it('the server closes an idle connection too; the client redials', async () => {
    p = await pair({ server: { config: IDLE } });
    p.server.register('idler', Idler);
    const ref = p.client.ref<Idler>('idler', p.peer);
    assert.equal(await ref.ping(), 'pong');
    const { server, client } = p;
    await eventually(
      () => client.stats().connections === 0 && server.stats().connections === 0,
      'the server to close the idle connection',
      3000,
    );
    assert.equal(await ref.ping(), 'pong');
  });

  it('a call or a subscription in progress longer than the timeout keeps the connection', async () => {
    p = await pair({ client: { config: IDLE }, server: { config: IDLE } });
    p.server.register('idler', Idler);
    const ref = p.client.ref<Idler>('idler', p.peer);
    assert.equal(await ref.hold(700), 'held', 'a unary call of 3.5 timeouts');
    const items: number[] = [];
    await new Promise<void>((resolve, reject) =>
      ref.ticks(14).subscribe({ next: (i) => items.push(i), error: reject, complete: resolve }),
    );
    assert.equal(items.length, 14, 'a stream of 700 ms');
    assert.equal(p.client.stats().connections, 1, 'one connection all along');
  });

  it('calls more often than the timeout keep the connection; 0 disables the timeout', async () => {
    p = await pair({ client: { config: IDLE } });
    p.server.register('idler', Idler);
    const ref = p.client.ref<Idler>('idler', p.peer);
    for (let i = 0; i < 10; i++) {
      assert.equal(await ref.ping(), 'pong');
      await sleep(80);
    }
    assert.equal(p.client.stats().connections, 1);
    await p.close();

    p = await pair({ client: { config: { idleTimeoutMs: 0 } }, server: { config: { idleTimeoutMs: 0 } } });
    p.server.register('idler', Idler);
    const ref0 = p.client.ref<Idler>('idler', p.peer);
    assert.equal(await ref0.ping(), 'pong');
    await sleep(400);
    assert.equal(p.client.stats().connections, 1);
  });
});
