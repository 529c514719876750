/**
 * Watchers: `Membership.watch` (static, and postgres against a throwaway server) follows the members
 * without being one, and `ActorSystem.watchCluster` calls the cluster without a listener or a member
 * row (TLS nodes on 127.0.0.1); one role per provider and per system.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { isRpcError } from '../../src/actors/errors.js';
import type { ActorSystem } from '../../src/actors/system.js';
import { Identity } from '../../src/auth/identity.js';
import { postgresMembership } from '../../src/cluster/postgres/membership.js';
import { rendezvousOrder } from '../../src/cluster/rendezvous.js';
import { staticMembership } from '../../src/cluster/static.js';
import { isTransportError } from '../../src/transport/errors.js';
import { initdbPath, NO_POSTGRES } from '../support/postgres.js';
import { keysOf, memberOn, waitFor } from './members.js';
import { answers, type Calc, calcNamed, clusterClient, grantOf, startNode, threeNodes } from './nodes.js';
import { postgresFixture } from './postgres-fixture.js';

const invalidConfig = (e: unknown) => isTransportError(e, 'INVALID_CONFIG');
const invalidArgument = (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT');
const systems: ActorSystem[] = [];
after(() => Promise.all(systems.map((s) => s.close())));

describe('static membership: watch', () => {
  it('reports the fixed list, holds no lease, and completes on close (idempotent)', async () => {
    const nodes = [memberOn(7501), memberOn(7502)];
    const m = staticMembership(nodes);
    await m.watch();
    assert.deepEqual(keysOf(m.members()), keysOf(nodes));
    assert.equal(await firstValueFrom(m.placement!.lease$), 'fenced');
    const all = lastValueFrom(m.members$.pipe(toArray()));
    await m.close();
    await m.close();
    await m.leave();
    await all;
  });

  it('one role per provider: join after watch, watch after join, watch twice reject INVALID_CONFIG', async () => {
    const watcher = staticMembership([]);
    await watcher.watch();
    await assert.rejects(watcher.join(memberOn(7503)), invalidConfig, 'join after watch');
    await assert.rejects(watcher.watch(), invalidConfig, 'watch twice');
    const member = staticMembership([]);
    await member.join(memberOn(7504));
    await assert.rejects(member.watch(), invalidConfig, 'watch after join');
    await member.leave();
    await assert.rejects(member.watch(), invalidConfig, 'watch after leave');
    await watcher.close();
  });
});

describe('postgres membership: watch', { skip: initdbPath() ? false : NO_POSTGRES }, () => {
  const pgf = postgresFixture('w', 7510);
  const watcherOn = (schema: string, onError?: (e: unknown) => void) =>
    pgf.adopt(
      postgresMembership({
        connection: pgf.url,
        schema,
        config: { refreshMs: 60_000 },
        ...(onError ? { onError } : {}),
      }),
    );
  const sessions = async (sql: Awaited<ReturnType<typeof pgf.client>>) =>
    Number(
      (
        await sql.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend'`,
        )
      ).rows[0].n,
    );

  /** Waits (up to 2 s) for `n` sessions: backends end shortly after their clients, and open with them. */
  const settle = async (sql: Awaited<ReturnType<typeof pgf.client>>, n: number) => {
    for (let i = 0; i < 100 && (await sessions(sql)) !== n; i++) await new Promise((r) => setTimeout(r, 20));
  };

  it('sees members join, change, leave and expire; never has a row; holds two connections and no lease', async () => {
    const { schema, made, infos } = await pgf.joined(2, { leaseMs: 1_500, heartbeatMs: 300 });
    const sql = await pgf.client();
    // Each member's renewal connection opens with its first heartbeat: three each, and this session.
    await settle(sql, 2 * 3 + 1);
    const before = await sessions(sql);
    const errors: unknown[] = [];
    const watcher = watcherOn(schema, (e) => errors.push(e));
    await watcher.watch();
    assert.deepEqual(keysOf(watcher.members()), keysOf(infos), 'the members at once');
    assert.equal(await sessions(sql), before + 2, 'a query and a LISTEN connection, no renewal one');
    assert.equal(await firstValueFrom(watcher.placement!.lease$), 'fenced');
    const rows = await sql.query(`SELECT key_id FROM ${schema}.members`);
    assert.deepEqual(rows.rows.map((r) => r.key_id).sort(), keysOf(infos), 'no row of the watcher');
    // A join and a change arrive by NOTIFY (refreshMs is a minute).
    const third = pgf.adopt(
      postgresMembership({
        connection: pgf.url,
        schema,
        config: { refreshMs: 60_000, leaseMs: 1_500, heartbeatMs: 300 },
      }),
    );
    const info = memberOn(7519);
    await third.join(info);
    await waitFor('the join', () => watcher.members().length === 3);
    await third.update({ load: 7, actors: ['echo'] });
    await waitFor('the change', () => watcher.members().find((m) => m.keyId === info.keyId)?.load === 7);
    assert.deepEqual(watcher.members().find((m) => m.keyId === info.keyId)?.actors, ['echo']);
    // A leave: at once; an expiry: by the read timed to the earliest lease.
    await third.leave();
    await waitFor('the leave', () => watcher.members().length === 2);
    await made[0]!.close();
    await waitFor('the expiry', () => keysOf(watcher.members()).join() === infos[1]!.keyId, 5_000);
    assert.equal(await firstValueFrom(watcher.placement!.lease$), 'fenced');
    const done = lastValueFrom(watcher.members$.pipe(toArray()));
    await watcher.leave();
    await watcher.close();
    await done;
    await settle(sql, before - 3);
    assert.equal(await sessions(sql), before - 3, 'the watcher and the closed member released theirs');
    assert.deepEqual(errors, []);
  });

  it('a watcher claims nothing: its placement rejects FENCED', async () => {
    const { schema } = await pgf.joined(1);
    const watcher = watcherOn(schema);
    await watcher.watch();
    await assert.rejects(watcher.placement!.claim('kcalc', 'k'), (e: unknown) =>
      isRpcError(e, 'UNAVAILABLE'),
    );
    await watcher.close();
  });

  it('migrates a new schema, as join does', async () => {
    const watcher = watcherOn('w_fresh');
    await watcher.watch();
    assert.deepEqual(watcher.members(), []);
    const sql = await pgf.client();
    const n = await sql.query(`SELECT count(*)::int AS n FROM w_fresh.members`);
    assert.equal(n.rows[0].n, 0);
    await watcher.close();
  });

  it('one role per provider: join after watch, watch after join reject INVALID_CONFIG', async () => {
    const { schema, made } = await pgf.joined(1);
    await assert.rejects(made[0]!.watch(), invalidConfig, 'watch after join');
    const watcher = watcherOn(schema);
    await watcher.watch();
    await assert.rejects(watcher.join(memberOn(7518)), invalidConfig, 'join after watch');
    await assert.rejects(watcher.watch(), invalidConfig, 'watch twice');
    const sql = await pgf.client();
    assert.equal((await sql.query(`SELECT count(*)::int AS n FROM ${schema}.members`)).rows[0].n, 1);
    await watcher.close();
  });

  it('a watching system (no listener) calls members by name, unkeyed and keyed, over TLS', async () => {
    const schema = 'w_calls';
    const membership = () =>
      pgf.adopt(postgresMembership({ connection: pgf.url, schema, config: { refreshMs: 60_000 } }));
    const nodes = await threeNodes(systems, membership);
    const view = membership();
    const client = clusterClient(systems, view);
    await client.watchCluster();
    assert.equal(view.members().length, 3);
    const calc = client.clusterRef<Calc>('calc');
    assert.deepEqual((await answers(() => calc.whoami(), 6)).sort(), ['a', 'a', 'b', 'b', 'c', 'c']);
    const tagOf = new Map(nodes.map((n, i) => [n.identity.id, 'abc'[i]!]));
    const owner = tagOf.get(rendezvousOrder(view.members(), 'kcalc', 'user-7')[0]!.keyId)!;
    const keyed = client.ref<Calc>('kcalc', 'user-7');
    assert.deepEqual(await answers(() => keyed.whoami(), 3), [owner, owner, owner]);
    const sql = await pgf.client();
    assert.equal((await sql.query(`SELECT count(*)::int AS n FROM ${schema}.members`)).rows[0].n, 3);
    // A node that joins later is called too.
    const late = Identity.generate();
    await startNode(
      systems,
      { calc: calcNamed('d') },
      { grant: grantOf(late), identity: late, membership: membership() },
    );
    await waitFor('the fourth', () => view.members().length === 4);
    assert.ok((await answers(() => calc.whoami(), 8)).includes('d'));
    // close() closes the membership: members$ completes.
    const done = lastValueFrom(view.members$.pipe(toArray()));
    await client.close();
    await done;
  });
});

describe('ActorSystem.watchCluster', () => {
  it('calls a static cluster without listening; rejects INVALID_ARGUMENT with joinCluster, or twice', async () => {
    const granted = Identity.generate();
    const member = await startNode(
      systems,
      { calc: calcNamed('g') },
      { grant: grantOf(granted), identity: granted },
    );
    const watcher = clusterClient(systems, [member.row]);
    await watcher.watchCluster();
    assert.deepEqual(await answers(() => watcher.clusterRef<Calc>('calc').whoami(), 2), ['g', 'g']);
    await assert.rejects(watcher.joinCluster(), invalidArgument, 'joinCluster after watchCluster');
    await assert.rejects(watcher.watchCluster(), invalidArgument, 'watchCluster twice');
    await assert.rejects(member.system.watchCluster(), invalidArgument, 'watchCluster after joinCluster');
  });

  it('rejects INVALID_ARGUMENT without options.cluster', async () => {
    const { ActorSystem } = await import('../../src/actors/system.js');
    const plain = new ActorSystem({ identity: Identity.generate() });
    systems.push(plain);
    await assert.rejects(plain.watchCluster(), invalidArgument);
  });
});
