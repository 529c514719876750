/**
 * The cluster end to end: three node processes (examples/cluster/node.ts) against a throwaway
 * PostgreSQL, over mutual TLS on 127.0.0.1, and a client system in this process.
 *
 * - Keyed actors are spread over the nodes, and so are stateless calls.
 * - Many clients add to the same keys through all three nodes at once: no add is lost, no count is
 *   answered twice, and no key is ever active on two nodes at once (each node prints when it activates
 *   and passivates a key; a killed node's activations end at its kill).
 * - `kill -9` of a node: its keys are activated elsewhere within its lease, with their saved counts.
 * - A node cut off from the database (its role may no longer log in, its backends are terminated)
 *   fences itself: it stops serving its keys before its lease expires by the database's clock, and
 *   another node takes them over only after that.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import {
  activeSpans,
  grantFor,
  killNode,
  type NodeProcess,
  overlaps,
  startNode,
  stopNode,
} from '../../examples/cluster/launch.js';
import type { Counter, CountReply, Echo } from '../../examples/cluster/node.js';
import { ActorSystem } from '../../src/actors/system.js';
import { Identity } from '../../src/auth/identity.js';
import { postgresMembership } from '../../src/cluster/postgres/membership.js';
import { initdbPath, NO_POSTGRES, type PostgresServer, startPostgres } from '../support/postgres.js';

const LEASE_MS = 3_000;
const HEARTBEAT_MS = 500;
const SCHEMA = 'rxchan';

const skip = initdbPath() ? false : NO_POSTGRES;

describe('cluster: three node processes on PostgreSQL', { skip, timeout: 180_000 }, () => {
  let db: PostgresServer;
  let admin: Identity;
  let sql: pg.Client;
  const nodes: NodeProcess[] = [];
  let client: ActorSystem;
  let membership: ReturnType<typeof postgresMembership>;

  /** A connection string for the login role `role` (made on first use: a superuser, trust authentication). */
  async function urlFor(role: string): Promise<string> {
    await sql.query(
      `DO $$ BEGIN CREATE ROLE ${role} LOGIN SUPERUSER; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    );
    return `postgres://${role}@127.0.0.1:${db.port}/postgres`;
  }

  async function node(name: string): Promise<NodeProcess> {
    const n = await startNode({
      name,
      url: await urlFor(`node_${name}`),
      schema: SCHEMA,
      admin,
      leaseMs: LEASE_MS,
      heartbeatMs: HEARTBEAT_MS,
    });
    nodes.push(n);
    return n;
  }

  const counter = (key: string) => client.ref<Counter>('counter', key, { timeoutMs: 5_000 });

  /** Adds 1 to `key` until it answers or `withinMs` runs out; the answer and when it came. */
  async function addUntilAnswered(key: string, withinMs: number): Promise<{ reply: CountReply; at: number }> {
    const deadline = Date.now() + withinMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const reply = await counter(key).add(1);
        return { reply, at: Date.now() };
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`${key} did not answer within ${withinMs} ms: ${(last as Error)?.message}`);
  }

  /** Who holds each of `keys` now (the node that answers a get). */
  async function holders(keys: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const k of keys) out.set(k, (await counter(k).get()).node);
    return out;
  }

  before(async () => {
    db = await startPostgres();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    admin = Identity.generate();
    await Promise.all(['a', 'b', 'c'].map((n) => node(n)));
    const identity = Identity.generate();
    membership = postgresMembership({
      connection: db.url,
      schema: SCHEMA,
      config: { leaseMs: LEASE_MS, heartbeatMs: HEARTBEAT_MS },
    });
    client = new ActorSystem({
      identity,
      authorizedKeys: [{ key: admin.id, name: 'admin', admin: true }],
      config: { reconnectBaseMs: 50, reconnectMaxMs: 200 },
      cluster: {
        membership,
        adminKey: admin.id,
        grant: grantFor(admin, identity),
      },
    });
    await client.watchCluster(); // hosts nothing: a watcher, not a member
    // The client sees the three nodes.
    const deadline = Date.now() + 10_000;
    while (membership.members().length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  after(async () => {
    await client?.close();
    await Promise.all(nodes.map((n) => stopNode(n)));
    await sql?.end();
    await db?.stop();
  });

  it('spreads keyed actors and stateless calls over the three nodes', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `spread-${i}`);
    for (const k of keys) assert.equal((await counter(k).add(1)).n, 1);
    const byNode = new Map<string, number>();
    for (const n of (await holders(keys)).values()) byNode.set(n, (byNode.get(n) ?? 0) + 1);
    assert.deepEqual([...byNode.keys()].sort(), ['a', 'b', 'c'], `keys per node: ${[...byNode]}`);
    for (const [n, count] of byNode) assert.ok(count >= 3, `node ${n} holds ${count} of 30 keys`);

    const echo = client.clusterRef<Echo>('echo');
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const who = await echo.whoami();
      seen.set(who, (seen.get(who) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries([...seen].sort()), { a: 10, b: 10, c: 10 });
  });

  it('many clients adding to the same keys through all three nodes: no lost update, no double activation', async () => {
    const keys = ['hot-1', 'hot-2', 'hot-3', 'hot-4'];
    const relays = nodes.map((n) =>
      client.ref<Echo>('echo', { host: '127.0.0.1', port: n.port, key: n.keyId }),
    );
    const CLIENTS = 6;
    const ADDS = 25;
    const answers = new Map(keys.map((k) => [k, [] as number[]]));
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; i < ADDS; i++) {
          const key = keys[(c + i) % keys.length]!;
          const relay = relays[(c + i) % relays.length]!;
          answers.get(key)!.push((await relay.relay(key, 1)).n);
        }
      }),
    );
    for (const key of keys) {
      const got = answers.get(key)!.sort((x, y) => x - y);
      const expected = Array.from({ length: got.length }, (_, i) => i + 1);
      assert.deepEqual(got, expected, `${key}: every add answered a distinct count, none lost`);
      assert.equal((await counter(key).get()).n, got.length);
    }
    assert.deepEqual(overlaps(activeSpans(nodes)), [], 'no key active on two nodes at once');
  });

  it('kill -9: the killed node’s keys are activated elsewhere within its lease, with their saved counts', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `move-${i}`);
    for (const k of keys) await counter(k).add(5);
    const before = await holders(keys);
    const victim = nodes.find((n) => [...before.values()].includes(n.name) && n.name !== 'a' && !n.killedAt)!;
    const itsKeys = keys.filter((k) => before.get(k) === victim.name);
    assert.ok(itsKeys.length > 0);
    killNode(victim);
    const results = await Promise.all(itsKeys.map((k) => addUntilAnswered(k, LEASE_MS + 10_000)));
    for (const [i, { reply, at }] of results.entries()) {
      assert.notEqual(reply.node, victim.name);
      assert.equal(reply.n, 6, `${itsKeys[i]} kept its saved count`);
      // Within the lease (plus the time to notice: a read at expiry, a claim, a load).
      assert.ok(at - victim.killedAt! < LEASE_MS + 2_000, `reactivated after ${at - victim.killedAt!} ms`);
    }
    // The other keys never moved.
    for (const k of keys.filter((k) => !itsKeys.includes(k)))
      assert.equal((await counter(k).add(1)).node, before.get(k));
    assert.deepEqual(overlaps(activeSpans(nodes)), [], 'no key active on two nodes at once');
  });

  it('a node cut off from the database fences itself before its lease can pass to another node', async () => {
    const live = nodes.filter((n) => !n.killedAt);
    const cut = live.find((n) => n.name !== 'a')!;
    const keys = Array.from({ length: 12 }, (_, i) => `cut-${i}`);
    for (const k of keys) await counter(k).add(1);
    const held = await holders(keys);
    const cutKeys = keys.filter((k) => held.get(k) === cut.name);
    assert.ok(cutKeys.length > 0, `node ${cut.name} holds some of the keys: ${[...held]}`);

    // Cut it: its role may not log in again, and its sessions end.
    const role = `node_${cut.name}`;
    await sql.query(`ALTER ROLE ${role} NOLOGIN`);
    const cutAt = Date.now();
    await sql.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
    const { rows } = await sql.query<{ ms: number }>(
      `SELECT (extract(epoch FROM lease_expires_at) * 1000)::float8 AS ms FROM ${SCHEMA}.members WHERE key_id = $1`,
      [cut.keyId],
    );
    const leaseEnd = rows[0]!.ms;

    const results = await Promise.all(cutKeys.map((k) => addUntilAnswered(k, LEASE_MS + 10_000)));
    for (const { reply } of results) {
      assert.notEqual(reply.node, cut.name);
      assert.equal(reply.n, 2, 'the saved count moved with the key');
    }
    const fenced = cut.events.find((e) => 'lease' in e && e.lease === 'fenced' && e.at >= cutAt);
    assert.ok(fenced && 'at' in fenced, 'the cut node said it was fenced');
    assert.ok(fenced.at < leaseEnd, `fenced ${leaseEnd - fenced.at} ms before its lease expired`);
    for (const k of cutKeys) {
      const stopped = cut.events.find(
        (e) => 'passivated' in e && e.passivated.key === k && e.passivated.at >= cutAt,
      );
      assert.ok(
        stopped && 'passivated' in stopped && stopped.passivated.at < leaseEnd,
        `${k} stopped before the lease ended`,
      );
    }
    assert.deepEqual(overlaps(activeSpans(nodes)), [], 'no key active on two nodes at once');
    await sql.query(`ALTER ROLE ${role} LOGIN`);
  });
});
