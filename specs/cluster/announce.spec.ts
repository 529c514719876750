/**
 * What a node tells its cluster after `joinCluster()`: the actors registered and unregistered since, and
 * its load (sampled every `loadIntervalMs`, published only when it changed). With the static provider,
 * and with the postgres provider (a throwaway server) where another member must see the change.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { callContext } from '../../src/actors/context.js';
import type { ActorSystem } from '../../src/actors/system.js';
import { Identity } from '../../src/auth/identity.js';
import { announcedAddresses } from '../../src/cluster/announce.js';
import type { Member } from '../../src/cluster/member.js';
import type { Membership } from '../../src/cluster/membership.js';
import { postgresMembership } from '../../src/cluster/postgres/membership.js';
import { staticMembership } from '../../src/cluster/static.js';
import { initdbPath, NO_POSTGRES, type PostgresServer, startPostgres } from '../support/postgres.js';
import { memberOn, waitFor } from './members.js';
import { clusterClient, grantOf, startNode } from './nodes.js';

class Calc {
  add(a: number, b: number): number {
    return a + b;
  }
}

class Sleeper {
  async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      callContext().signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

const systems: ActorSystem[] = [];
after(() => Promise.all(systems.map((s) => s.close())));

/** `membership` with its `update` calls counted. */
function counted(membership: Membership): { membership: Membership; updates: () => number } {
  let n = 0;
  const update = membership.update.bind(membership);
  Object.defineProperty(membership, 'update', {
    value: (change: Parameters<Membership['update']>[0]) => {
      n++;
      return update(change);
    },
  });
  return { membership, updates: () => n };
}

const selfIn = (m: Membership, keyId: string): Member | undefined =>
  m.members().find((x) => x.keyId === keyId);

describe('the addresses a node announces', () => {
  it('cluster.announce wins over the listeners; a wildcard listener host is refused unless announce names one', () => {
    const listening = { tls: { host: '127.0.0.1', port: 7000 }, ws: 'ws://127.0.0.1:7001/rxchan' };
    assert.deepEqual(announcedAddresses(listening, undefined), listening);
    assert.deepEqual(announcedAddresses(listening, { tls: { host: 'node-1.counters', port: 7443 } }), {
      tls: { host: 'node-1.counters', port: 7443 },
      ws: 'ws://127.0.0.1:7001/rxchan',
    });
    for (const host of ['0.0.0.0', '::']) {
      assert.throws(
        () => announcedAddresses({ tls: { host, port: 7000 } }, undefined),
        (e: { code?: string; message: string }) =>
          e.code === 'INVALID_ARGUMENT' && e.message.includes('cluster.announce.tls'),
      );
      assert.deepEqual(
        announcedAddresses({ tls: { host, port: 7000 } }, { tls: { host: 'a.example', port: 7000 } }),
        {
          tls: { host: 'a.example', port: 7000 },
        },
      );
    }
    assert.throws(() => announcedAddresses({}, undefined), /needs a TLS or WebSocket listener/);
  });

  it('joinCluster announces cluster.announce, and peers dial it', async () => {
    // The node listens on 127.0.0.1 and announces 127.0.0.2:<port>, where a second listener stands for
    // the address a NAT or a Kubernetes Service would forward.
    const port = await freePort('127.0.0.2');
    const identity = Identity.generate();
    const membership = staticMembership([]);
    const { system, row } = await startNode(
      systems,
      { calc: Calc },
      {
        identity,
        grant: grantOf(identity),
        membership,
        join: false,
        cluster: { announce: { tls: { host: '127.0.0.2', port } } },
      },
    );
    await system.listen({ host: '127.0.0.2', port });
    await system.joinCluster();
    assert.deepEqual(selfIn(membership, identity.id)?.addresses, { tls: { host: '127.0.0.2', port } });
    const client = clusterClient(systems, [{ ...row, addresses: { tls: { host: '127.0.0.2', port } } }]);
    assert.equal(await client.clusterRef<Calc>('calc').add(1, 2), 3);
  });
});

/** A TCP port free on `host` a moment ago. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('cluster announcements (static membership)', () => {
  it('actors registered or unregistered after joinCluster are announced', async () => {
    const identity = Identity.generate();
    const membership = staticMembership([]);
    const { system } = await startNode(
      systems,
      { calc: Calc },
      { grant: grantOf(identity), identity, membership },
    );
    assert.deepEqual(selfIn(membership, identity.id)?.actors, ['calc']);
    await system.register('sleeper', Sleeper);
    await waitFor(
      'sleeper announced',
      () => selfIn(membership, identity.id)?.actors.join() === 'calc,sleeper',
    );
    await system.unregister('calc');
    await waitFor('calc withdrawn', () => selfIn(membership, identity.id)?.actors.join() === 'sleeper');
  });

  it('load: sampled every loadIntervalMs and published only when it changed', async () => {
    const identity = Identity.generate();
    const { membership, updates } = counted(staticMembership([]));
    let load = 3;
    await startNode(
      systems,
      { calc: Calc },
      { grant: grantOf(identity), identity, membership, cluster: { load: () => load, loadIntervalMs: 20 } },
    );
    assert.equal(selfIn(membership, identity.id)?.load, 3, 'the load at join');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(updates(), 0, 'an unchanged load is not published');
    load = 5;
    await waitFor('load 5', () => selfIn(membership, identity.id)?.load === 5);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(updates(), 1, 'one update for one change');
  });

  it('default load: the calls the node is serving for peers', async () => {
    const identity = Identity.generate();
    const membership = staticMembership([]);
    const node = await startNode(
      systems,
      { sleeper: Sleeper },
      { grant: grantOf(identity), identity, membership, cluster: { loadIntervalMs: 10 } },
    );
    const caller = clusterClient(systems, [node.row]);
    const sleeper = caller.clusterRef<Sleeper>('sleeper');
    const calls = [sleeper.sleep(400), sleeper.sleep(400)];
    await waitFor('load 2', () => selfIn(membership, identity.id)?.load === 2);
    await Promise.all(calls);
    await waitFor('load 0', () => selfIn(membership, identity.id)?.load === 0);
  });

  it('rejects a bad loadIntervalMs', async () => {
    const identity = Identity.generate();
    const node = await startNode(
      systems,
      { calc: Calc },
      { grant: grantOf(identity), identity, join: false, cluster: { loadIntervalMs: 1 } },
    );
    await assert.rejects(node.system.joinCluster(), /loadIntervalMs/);
  });
});

describe('cluster announcements (postgres membership)', { skip: initdbPath() ? false : NO_POSTGRES }, () => {
  let server: PostgresServer;
  const open: Membership[] = [];
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await Promise.all(open.map((m) => m.close()));
    await server?.stop();
  });

  it('another member sees the actors registered and unregistered after join, and the load', async () => {
    const schema = 'announce';
    const membership = postgresMembership({ connection: server.url, schema, config: { refreshMs: 60_000 } });
    const observer = postgresMembership({ connection: server.url, schema, config: { refreshMs: 60_000 } });
    open.push(observer);
    await observer.join(memberOn(7301, []));
    const identity = Identity.generate();
    let load = 0;
    const { system } = await startNode(
      systems,
      { calc: Calc },
      { grant: grantOf(identity), identity, membership, cluster: { load: () => load, loadIntervalMs: 20 } },
    );
    await waitFor('the node', () => selfIn(observer, identity.id)?.actors.join() === 'calc');
    await system.register('sleeper', Sleeper);
    await waitFor('sleeper', () => selfIn(observer, identity.id)?.actors.join() === 'calc,sleeper', 3_000);
    await system.unregister('calc');
    await waitFor('calc gone', () => selfIn(observer, identity.id)?.actors.join() === 'sleeper', 3_000);
    load = 7;
    await waitFor('load 7', () => selfIn(observer, identity.id)?.load === 7, 3_000);
    await system.close();
    await waitFor('the node left', () => selfIn(observer, identity.id) === undefined, 3_000);
  });
});
