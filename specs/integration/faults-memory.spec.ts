/**
 * A peer that calls and never reads its socket (issue 11 #1), over mutual TLS 1.3: an authorized client
 * makes hundreds of calls of `echo(200 KiB)` and pauses its socket. Before, every reply was queued (the
 * bound was windows x streams, about 1 GiB per connection); now the server stops admitting and reading
 * that connection's calls once `maxConnectionQueuedBytes` wait for it (or `maxQueuedBytes` for all its
 * connections), so what it holds stays near the limit, another client's calls go on, and every call is
 * answered once the peer reads again.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastValueFrom, toArray } from 'rxjs';
import { type ActorSystem, actor } from '../../src/actors/index.js';
import { ChannelSession } from '../../src/transport/channel/index.js';
import { type Connection, dialTls } from '../../src/transport/connection/index.js';
import { Session } from '../../src/transport/mux/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

@actor('echo', { concurrency: 64 })
class Echo {
  echo(bytes: Uint8Array): Uint8Array {
    return bytes;
  }
  ping(): string {
    return 'pong';
  }
}

/** Bytes the server has queued for its peers, all connections together. */
function serverQueued(server: ActorSystem): number {
  const links = (server as unknown as { links: Set<{ channels: { mux: Session } }> }).links;
  let n = 0;
  for (const l of links) n += l.channels.mux.queuedBytes;
  return n;
}

const LIMIT = 1024 * 1024;
const REPLY = 200 * 1024;
const CALLS = 300;

let p: Pair | undefined;
let attacker: Connection | undefined;
afterEach(async () => {
  attacker?.socket.destroy();
  await p?.close();
  p = undefined;
  attacker = undefined;
});

describe('faults: a peer that never reads (TLS)', () => {
  for (const limit of ['maxConnectionQueuedBytes', 'maxQueuedBytes'] as const) {
    it(`server memory stays near ${limit}; other clients go on; all is answered after`, async () => {
      await attack({ maxConnectionQueuedBytes: 0, maxQueuedBytes: 0, [limit]: LIMIT });
    });
  }
});

async function attack(limits: { maxConnectionQueuedBytes: number; maxQueuedBytes: number }): Promise<void> {
  {
    p = await pair({ server: { config: { ...limits, maxCallsPerConnection: 0 } } });
    await p.server.register(Echo);
    attacker = await dialTls({
      identity: p.clientId,
      host: p.peer.host,
      port: p.peer.port,
      serverKey: p.serverId.id,
    });
    const channels = new ChannelSession(
      new Session(attacker.socket, attacker.role, { keepAliveIntervalMs: 0 }),
    );
    attacker.socket.pause(); // reads nothing: every reply stays on the server's side
    const payload = new Uint8Array(REPLY).fill(7);
    const replies = Array.from({ length: CALLS }, () => {
      const call = channels.openDuplex<unknown, unknown>();
      call.sender.write({ n: 'echo', m: 'echo', a: [payload] });
      call.sender.close();
      return lastValueFrom(call.receiver.pipe(toArray()));
    });

    let maxQueued = 0;
    const good = p.client.ref<Echo>('echo', p.peer);
    for (let i = 0; i < 20; i++) {
      maxQueued = Math.max(maxQueued, serverQueued(p.server));
      const started = Date.now();
      assert.equal(await good.ping(), 'pong');
      assert.ok(Date.now() - started < 1_000, 'another client keeps its latency');
      await sleep(25);
    }
    maxQueued = Math.max(maxQueued, serverQueued(p.server));
    // Held at the limit plus what the calls admitted before it wrote (one reply each, at most a few).
    const bound = LIMIT + 8 * REPLY;
    assert.ok(maxQueued > LIMIT / 2, `the attacker filled its queue (${maxQueued} bytes)`);
    assert.ok(maxQueued <= bound, `server queued ${maxQueued} bytes for the attacker (bound ${bound})`);
    assert.ok(p.server.stats().servedCalls < CALLS, 'the server stopped admitting its calls');

    attacker.socket.resume();
    const all = await Promise.all(replies);
    assert.equal(all.length, CALLS);
    for (const records of all) {
      const reply = records[0] as { v?: Uint8Array };
      assert.equal(reply.v?.length, REPLY);
    }
    await eventually(() => serverQueued(p!.server) === 0, 'the queue to drain');
  }
}
