/**
 * `stats()` counters over real TLS 1.3 on 127.0.0.1: calls made and served by how they ended (values,
 * errors, deadlines, cancelled streams, a dial that failed), local calls, active streams going back to 0,
 * connections opened and closed, bytes in and out.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { interval, type Observable } from 'rxjs';
import { ActorSystem, actor, RpcError, type SystemStats } from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

@actor('counted')
class Counted {
  ok(): string {
    return 'ok';
  }
  refuse(): never {
    throw new RpcError('PERMISSION_DENIED', 'no');
  }
  crash(): never {
    throw new Error('an unexpected failure, masked for the caller');
  }
  async slow(ms: number): Promise<string> {
    await sleep(ms);
    return 'late';
  }
  forever(): Observable<number> {
    return interval(2);
  }
}

/** The counts of `stats` that are not zero. */
function nonZero(counts: SystemStats['callsMade']): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

describe('stats() counters', () => {
  let p: Pair | undefined;

  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('counts calls made and served by how they ended', async () => {
    p = await pair();
    await p.server.register(Counted);
    const ref = p.client.ref<Counted>('counted', p.peer);
    assert.equal(await ref.ok(), 'ok');
    assert.equal(await ref.ok(), 'ok');
    await assert.rejects(ref.refuse(), { code: 'PERMISSION_DENIED' });
    await assert.rejects(ref.crash(), { code: 'INTERNAL' });
    await assert.rejects(ref.withOptions({ timeoutMs: 20 }).slow(200), { code: 'DEADLINE_EXCEEDED' });
    const sub = ref.forever().subscribe();
    try {
      await eventually(() => p!.server.stats().activeStreams === 1, 'the stream to be sent');
      await eventually(() => p!.client.stats().activeStreams === 1, 'the stream to be read');
    } finally {
      sub.unsubscribe();
    }
    await eventually(
      () => p!.server.stats().servedCalls === 0 && p!.server.stats().activeStreams === 0,
      'the server to end every call',
    );
    const client = p.client.stats();
    const server = p.server.stats();
    assert.deepEqual(nonZero(client.callsMade), {
      OK: 2,
      PERMISSION_DENIED: 1,
      INTERNAL: 1,
      DEADLINE_EXCEEDED: 1,
      CANCELLED: 1,
    });
    // The server counts the unexpected error as the caller got it (INTERNAL), not as UNKNOWN.
    assert.deepEqual(nonZero(server.callsServed), {
      OK: 2,
      PERMISSION_DENIED: 1,
      INTERNAL: 1,
      DEADLINE_EXCEEDED: 1,
      CANCELLED: 1,
    });
    assert.deepEqual(nonZero(client.callsServed), {}, 'the client served nothing');
    assert.equal(client.activeStreams, 0);
    assert.equal(server.activeStreams, 0);
  });

  it('counts local calls as made, and calls whose peer cannot be reached', async () => {
    const system = new ActorSystem({ identity: Identity.generate(), config: { closeTimeoutMs: 300 } });
    try {
      await system.register(Counted);
      const local = system.ref<Counted>('counted');
      assert.equal(await local.ok(), 'ok');
      await assert.rejects(local.refuse(), { code: 'PERMISSION_DENIED' });
      const items: number[] = [];
      await new Promise<void>((resolve) => {
        const sub = local.forever().subscribe((n) => {
          items.push(n);
          if (items.length === 2) {
            sub.unsubscribe();
            resolve();
          }
        });
      });
      // Nothing listens on this port: the dial fails.
      const gone = system.ref<Counted>('counted', {
        host: '127.0.0.1',
        port: 1,
        key: Identity.generate().id,
      });
      await assert.rejects(gone.ok(), { code: 'UNAVAILABLE' });
      const stats = system.stats();
      assert.deepEqual(nonZero(stats.callsMade), {
        OK: 1,
        PERMISSION_DENIED: 1,
        CANCELLED: 1,
        UNAVAILABLE: 1,
      });
      assert.deepEqual(nonZero(stats.callsServed), {}, 'local calls are not served for a peer');
      assert.equal(stats.activeStreams, 0);
    } finally {
      await system.close();
    }
  });

  it('counts connections opened and closed, and bytes both ways', async () => {
    p = await pair();
    await p.server.register(Counted);
    const before = p.server.stats();
    assert.equal(before.connectionsOpened, 0);
    assert.equal(before.bytesIn, 0);
    const ref = p.client.ref<Counted>('counted', p.peer);
    await ref.ok();
    const client = p.client.stats();
    assert.equal(client.connectionsOpened, 1);
    assert.equal(client.connectionsClosed, 0);
    assert.ok(client.bytesOut > 0 && client.bytesIn > 0);
    await eventually(() => p!.server.stats().bytesOut === p!.client.stats().bytesIn, 'the reply to arrive');
    // What one side wrote, the other read (the multiplexer's frames, both counted above TLS).
    await eventually(() => p!.server.stats().bytesIn === p!.client.stats().bytesOut, 'the bytes to arrive');
    const opened = p.server.stats();
    assert.equal(opened.connectionsOpened, 1);
    await p.client.close();
    await eventually(() => p!.server.stats().connections === 0, 'the server to see the connection end');
    const closed = p.server.stats();
    assert.equal(closed.connectionsClosed, 1);
    assert.ok(closed.bytesIn >= opened.bytesIn, 'the bytes of a closed connection stay counted');
    assert.equal(p.client.stats().connectionsClosed, 1);
  });
});
