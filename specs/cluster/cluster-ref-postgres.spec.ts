/**
 * Cluster refs over the `postgres` membership provider (a throwaway server): three nodes and a client,
 * each a member, over real TLS on 127.0.0.1. Calls spread over the members; when one leaves, or stops
 * renewing and its lease runs out, calls go to the others; a row inserted by SQL naming a key without a
 * grant is never used.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { ActorSystem } from '../../src/actors/system.js';
import { Identity } from '../../src/auth/identity.js';
import type { Membership } from '../../src/cluster/membership.js';
import { postgresMembership } from '../../src/cluster/postgres/membership.js';
import { rendezvousOrder } from '../../src/cluster/rendezvous.js';
import { initdbPath, NO_POSTGRES, type PostgresServer, startPostgres } from '../support/postgres.js';
import { waitFor } from './members.js';
import { answers, type Calc, calcNamed, grantOf, startNode, threeNodes } from './nodes.js';

const systems: ActorSystem[] = [];

describe('cluster refs over postgres membership (TLS on 127.0.0.1)', {
  skip: initdbPath() ? false : NO_POSTGRES,
}, () => {
  let server: PostgresServer;
  let schemas = 0;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await Promise.all(systems.map((s) => s.close()));
    await server?.stop();
  });

  const sql = async (text: string, values: unknown[] = []) => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      return await c.query(text, values);
    } finally {
      await c.end();
    }
  };

  /** Three nodes hosting `calc` (tags a, b, c) and a client node, on a schema of their own. */
  async function cluster(leaseMs = 10_000) {
    const schema = `cr_${++schemas}`;
    const membership = () =>
      postgresMembership({
        connection: server.url,
        schema,
        config: { refreshMs: 60_000, leaseMs, heartbeatMs: Math.floor(leaseMs / 4) },
      });
    const nodes = await threeNodes(systems, membership);
    const clientId = Identity.generate();
    const client = await startNode(
      systems,
      {},
      { grant: grantOf(clientId), identity: clientId, membership: membership() },
    );
    await waitFor('the client sees the three', () => hosts(client.membership) === 3);
    return { schema, nodes, client: client.system, view: client.membership };
  }

  const hosts = (m: Membership) => m.members().filter((x) => x.actors.includes('calc')).length;

  it('spreads calls over the three; when one leaves, or its lease runs out, calls go to the others', async () => {
    const { nodes, client, view } = await cluster(1_500);
    const calc = client.clusterRef<Calc>('calc');
    const seen = await answers(() => calc.whoami(), 9);
    for (const tag of ['a', 'b', 'c'])
      assert.equal(seen.filter((x) => x === tag).length, 3, `spread: ${seen}`);
    // a leaves: at once, its dial fails and the call goes on; soon it is out of the list.
    await nodes[0]!.system.close();
    const after1 = await answers(() => calc.whoami(), 6);
    assert.ok(!after1.includes('a') && after1.includes('b') && after1.includes('c'), `${after1}`);
    await waitFor('a left the list', () => hosts(view) === 2);
    // b stops renewing (as after a crash) and stops serving: its row stays until its lease runs out.
    await nodes[1]!.membership.close();
    await nodes[1]!.system.close();
    assert.deepEqual(await answers(() => calc.whoami(), 3), ['c', 'c', 'c']);
    await waitFor('b expired', () => hosts(view) === 1, 5_000);
    assert.deepEqual(await answers(() => calc.whoami(), 3), ['c', 'c', 'c']);
  });

  it('keyed: a key goes to the first member in rendezvous order; when it leaves, to the next', async () => {
    const { nodes, client, view } = await cluster();
    const tagOf = new Map(nodes.map((n, i) => [n.identity.id, 'abc'[i]!]));
    const live = () => view.members().filter((m) => m.actors.includes('kcalc'));
    const first = () => tagOf.get(rendezvousOrder(live(), 'kcalc', 'user-42')[0]!.keyId);
    // kcalc is keyed: the member the call reaches first claims the key in PostgreSQL and serves it.
    const calc = client.clusterRef<Calc>('kcalc', { key: 'user-42' });
    const owner = first()!;
    assert.deepEqual(await answers(() => calc.whoami(), 3), [owner, owner, owner]);
    const gone = nodes['abc'.indexOf(owner)]!;
    await gone.system.close();
    await waitFor('the owner left', () => live().length === 2);
    const next = first()!;
    assert.notEqual(next, owner);
    assert.deepEqual(await answers(() => calc.whoami(), 3), [next, next, next]);
  });

  it('trust: a row inserted by SQL naming a key without a grant is never used', async () => {
    const { schema, client, view } = await cluster();
    // A node that holds its key and serves calc, but has no grant from the cluster admin.
    const intruder = await startNode(systems, { calc: calcNamed('intruder') }, { grant: undefined });
    const tls = intruder.row.addresses.tls!;
    await sql(
      `INSERT INTO ${schema}.members (key_id, tls_host, tls_port, actors, lease_expires_at)
       VALUES ($1, $2, $3, '{calc,kcalc}', now() + interval '1 hour')`,
      [intruder.identity.id, tls.host, tls.port],
    );
    await waitFor('the client sees the row', () => hosts(view) === 4);
    const calc = client.clusterRef<Calc>('calc');
    const seen = await answers(() => calc.whoami(), 12);
    assert.ok(!seen.includes('intruder'), `${seen}`);
    assert.deepEqual([...new Set(seen)].sort(), ['a', 'b', 'c']);
    assert.equal(intruder.system.stats().callsServed.OK ?? 0, 0, 'no call reached the intruder');
    assert.equal(intruder.system.stats().connections, 0, 'no connection was accepted');
    assert.ok(intruder.refused.length >= 1, 'the client refused its handshake');
    // Keyed: even a key whose first member in rendezvous order is the intruder is served by a member.
    const rows = view.members().filter((m) => m.actors.includes('kcalc'));
    let key = '';
    for (let i = 0; i < 200 && key === ''; i++) {
      if (rendezvousOrder(rows, 'kcalc', `t${i}`)[0]!.keyId === intruder.identity.id) key = `t${i}`;
    }
    assert.notEqual(key, '');
    const tag = await client.clusterRef<Calc>('kcalc', { key }).whoami();
    assert.ok(['a', 'b', 'c'].includes(tag as string), tag);
    assert.equal(intruder.system.stats().connections, 0);
  });
});
