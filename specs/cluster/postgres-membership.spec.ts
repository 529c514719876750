/**
 * The `postgres` membership provider against a real PostgreSQL (a throwaway server started once for
 * this file). Each test uses a schema of its own, so tests do not see each other's members.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { MembershipConfig } from '../../src/cluster/config.js';
import type { Membership } from '../../src/cluster/membership.js';
import { postgresMembership } from '../../src/cluster/postgres/membership.js';
import { initdbPath, NO_POSTGRES, type PostgresServer, startPostgres } from '../support/postgres.js';
import { keysOf, memberOn, waitFor } from './members.js';

describe('postgres membership', { skip: initdbPath() ? false : NO_POSTGRES }, () => {
  let server: PostgresServer;
  let open: Membership[] = [];
  let schemas = 0;

  /** `n` providers on a new schema. */
  const nodes = (n: number, config: Partial<MembershipConfig> = {}, onError?: (e: unknown) => void) => {
    const schema = `m_${++schemas}`;
    const made = Array.from({ length: n }, () =>
      postgresMembership({ connection: server.url, schema, config, ...(onError ? { onError } : {}) }),
    );
    open.push(...made);
    return { schema, made };
  };
  const sql = async (text: string) => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      return await c.query(text);
    } finally {
      await c.end();
    }
  };

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await Promise.all(open.map((m) => m.close()));
    open = [];
    await server?.stop();
  });

  it('three members join and each sees the others, with what they said about themselves', async () => {
    const { made } = nodes(3, { refreshMs: 60_000 });
    const infos = [memberOn(7201, ['calc']), memberOn(7202, ['calc', 'echo'], 2), memberOn(7203, [], 0.5)];
    await Promise.all(made.map((m, i) => m.join(infos[i]!)));
    const all = infos.map((x) => x.keyId).sort();
    for (const m of made) await waitFor('all three', () => keysOf(m.members()).join() === all.join());
    const seen = made[0]!.members().find((x) => x.keyId === infos[1]!.keyId)!;
    assert.deepEqual(seen.addresses, infos[1]!.addresses);
    assert.deepEqual(seen.actors, ['calc', 'echo']);
    assert.equal(seen.load, 2);
    assert.ok(seen.leaseRemainingMs! > 0 && seen.leaseRemainingMs! <= 10_000);
    await Promise.all(made.map((m) => m.leave()));
  });

  it('NOTIFY: a join and an update reach the others well before the refresh period', async () => {
    const { made } = nodes(3, { refreshMs: 60_000 });
    const [a, b, c] = made as [Membership, Membership, Membership];
    await a.join(memberOn(7211));
    await b.join(memberOn(7212));
    await waitFor('a sees b', () => a.members().length === 2);
    const late = memberOn(7213);
    let t0 = Date.now();
    await c.join(late);
    await waitFor('a and b see c', () => a.members().length === 3 && b.members().length === 3, 2_000);
    const joinMs = Date.now() - t0;
    t0 = Date.now();
    await c.update({ load: 7 });
    const loadOf = (m: Membership) => m.members().find((x) => x.keyId === late.keyId)?.load;
    await waitFor('a and b see the new load', () => loadOf(a) === 7 && loadOf(b) === 7, 2_000);
    const updateMs = Date.now() - t0;
    assert.ok(joinMs < 2_000 && updateMs < 2_000, `join ${joinMs} ms, update ${updateMs} ms`);
    await Promise.all(made.map((m) => m.leave()));
  });

  it('leaseMs: a member that stops heartbeating disappears once its lease expires', async () => {
    const leaseMs = 600;
    const heartbeatMs = 100;
    const { made } = nodes(2, { leaseMs, heartbeatMs, refreshMs: 60_000 });
    const [a, b] = made as [Membership, Membership];
    await a.join(memberOn(7221));
    await b.join(memberOn(7222));
    await waitFor('a sees b', () => a.members().length === 2);
    const t0 = Date.now();
    await b.close(); // no leave: its row stays, as after a crash
    await waitFor('b gone from a', () => a.members().length === 1, leaseMs + 2_000);
    const gone = Date.now() - t0;
    // Its last renewal was at most one heartbeat before close; a reads at the lease's end.
    assert.ok(gone >= leaseMs - heartbeatMs - 50, `gone after ${gone} ms, before its lease of ${leaseMs} ms`);
    assert.ok(gone < leaseMs + 1_000, `gone after ${gone} ms`);
    const rows = await sql(`SELECT count(*)::int AS n FROM m_${schemas}.members`);
    assert.equal(rows.rows[0].n, 2, 'the row is still there: the lease, not a delete, ended it');
    await a.leave();
  });

  it('heartbeatMs: a member that keeps renewing stays live over several leases', async () => {
    const { made } = nodes(2, { leaseMs: 300, heartbeatMs: 50, refreshMs: 60_000 });
    const [a, b] = made as [Membership, Membership];
    await a.join(memberOn(7231));
    await b.join(memberOn(7232));
    await waitFor('a sees b', () => a.members().length === 2);
    const lengths = new Set<number>();
    const sub = a.members$.subscribe((list) => lengths.add(list.length));
    await new Promise((r) => setTimeout(r, 1_200));
    sub.unsubscribe();
    assert.deepEqual([...lengths], [2], 'b never dropped out');
    await Promise.all(made.map((m) => m.leave()));
  });

  it('leave removes a member at once, long before its lease would expire', async () => {
    const { made } = nodes(2, { leaseMs: 30_000, refreshMs: 60_000 });
    const [a, b] = made as [Membership, Membership];
    await a.join(memberOn(7241));
    await b.join(memberOn(7242));
    await waitFor('a sees b', () => a.members().length === 2);
    const t0 = Date.now();
    await b.leave();
    await waitFor('b gone from a', () => a.members().length === 1, 2_000);
    assert.ok(Date.now() - t0 < 2_000);
    let completed = false;
    b.members$.subscribe({ complete: () => (completed = true) });
    assert.ok(completed, 'members$ completes after leave');
    await a.leave();
  });

  it('refreshMs: a change that sent no NOTIFY is read within the refresh period', async () => {
    const { schema, made } = nodes(1, { refreshMs: 300 });
    const [a] = made as [Membership];
    await a.join(memberOn(7251));
    const other = memberOn(7252);
    // With triggers off (replica role), the insert notifies no one.
    await sql(`SET session_replication_role = replica;
      INSERT INTO ${schema}.members (key_id, tls_host, tls_port, lease_expires_at)
      VALUES ('${other.keyId}', '127.0.0.1', 7252, now() + interval '1 minute')`);
    const t0 = Date.now();
    await waitFor('a reads the silent row', () => a.members().length === 2, 2_000);
    assert.ok(Date.now() - t0 <= 300 + 500, `read after ${Date.now() - t0} ms`);
    await a.leave();
  });

  it('a malformed row is skipped, never trusted, and breaks nothing', async () => {
    const { schema, made } = nodes(1, { refreshMs: 60_000 });
    const [a] = made as [Membership];
    await a.join(memberOn(7261));
    await sql(`INSERT INTO ${schema}.members (key_id, tls_host, tls_port, lease_expires_at)
      VALUES ('not a key', '127.0.0.1', 7262, now() + interval '1 minute')`);
    const good = memberOn(7263);
    await sql(`INSERT INTO ${schema}.members (key_id, ws_url, actors, lease_expires_at)
      VALUES ('${good.keyId}', 'wss://127.0.0.1:7263/', '{calc}', now() + interval '1 minute')`);
    await waitFor('a sees the good row', () => a.members().length === 2, 2_000);
    assert.deepEqual(keysOf(a.members()).includes('not a key'), false);
    await a.leave();
  });

  it('connectTimeoutMs: a join against a database that never answers fails within it', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as { port: number };
    try {
      const m = postgresMembership({
        connection: { host: '127.0.0.1', port, user: 'x', database: 'x' },
        config: { connectTimeoutMs: 300 },
      });
      const t0 = Date.now();
      await assert.rejects(m.join(memberOn(7271)));
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took < 2_000, `failed after ${took} ms`);
      await assert.rejects(m.join(memberOn(7271)), /join when done/, 'the provider is spent');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
