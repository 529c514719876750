/**
 * Placement and state of keyed actors in the `postgres` provider, against a real PostgreSQL (a
 * throwaway server for this file; a schema per test): claims bound to leases, takeover only after the
 * owner's lease expired, one winner among concurrent claimers, versioned saves, fencing before expiry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type pg from 'pg';
import { isRpcError, type RpcError } from '../../src/actors/errors.js';
import type { MembershipConfig } from '../../src/cluster/config.js';
import type { MemberInfo } from '../../src/cluster/member.js';
import type { Membership } from '../../src/cluster/membership.js';
import type { LeaseState, Placement, StateStore } from '../../src/cluster/placement.js';
import { postgresMembership } from '../../src/cluster/postgres/membership.js';
import { initdbPath, NO_POSTGRES } from '../support/postgres.js';
import { memberOn, waitFor } from './members.js';
import { postgresFixture } from './postgres-fixture.js';

const reasonIs = (code: string, reason: string) => (e: unknown) =>
  isRpcError(e) && e.code === code && (e as RpcError).reason === reason;

/** Ms left on `keyId`'s lease by the database's clock, read through `c` (negative once expired). */
async function leaseLeftMs(c: pg.Client, schema: string, keyId: string): Promise<number> {
  const { rows } = await c.query(
    `SELECT (extract(epoch FROM lease_expires_at - clock_timestamp()) * 1000)::float8 AS ms FROM ${schema}.members WHERE key_id = $1`,
    [keyId],
  );
  return Number(rows[0].ms);
}

describe('postgres placement and state', { skip: initdbPath() ? false : NO_POSTGRES }, () => {
  const pgf = postgresFixture('p', 7300);
  const joined = (n: number, config: Partial<MembershipConfig> = {}, onError?: (e: unknown) => void) =>
    pgf.joined(n, config, onError ? { onError } : {});
  const client = () => pgf.client();
  const place = (m: Membership): Placement => m.placement!;
  const store = (m: Membership): StateStore => m.state!;
  const leaseOf = (m: Membership) => {
    let last: LeaseState | undefined;
    m.placement!.lease$.subscribe((s) => (last = s));
    return () => last;
  };

  it('claims: the first claimer holds a key, others learn it; release lets another claim it', async () => {
    const { made, infos } = await joined(2);
    const [a, b] = made as [Membership, Membership];
    const [ia, ib] = infos as [MemberInfo, MemberInfo];
    const t0 = performance.now();
    assert.deepEqual(await place(a).claim('counter', 'k1'), { owner: ia.keyId });
    const claimMs = performance.now() - t0;
    assert.deepEqual(await place(a).claim('counter', 'k1'), { owner: ia.keyId }, 'again: still a');
    assert.deepEqual(await place(b).claim('counter', 'k1'), { owner: ia.keyId });
    assert.deepEqual(await place(b).claim('other', 'k1'), { owner: ib.keyId }, 'another actor, same key');
    await place(b).release('counter', 'k1'); // not b's: nothing happens
    assert.deepEqual(await place(b).claim('counter', 'k1'), { owner: ia.keyId });
    await place(a).release('counter', 'k1');
    assert.deepEqual(await place(b).claim('counter', 'k1'), { owner: ib.keyId });
    const n = 200;
    const t1 = performance.now();
    for (let i = 0; i < n; i++) await place(a).claim('counter', `lat-${i}`);
    const perClaim = (performance.now() - t1) / n;
    console.log(
      `# first claim ${claimMs.toFixed(2)} ms; ${n} sequential new claims: ${perClaim.toFixed(2)} ms each`,
    );
    await Promise.all(made.map((m) => m.leave()));
  });

  it('leave releases every claim of the node (its row goes, its claims with it)', async () => {
    const { made, infos } = await joined(2);
    const [a, b] = made as [Membership, Membership];
    await place(a).claim('counter', 'k');
    await a.leave();
    assert.deepEqual(await place(b).claim('counter', 'k'), { owner: infos[1]!.keyId });
    await b.leave();
  });

  it('takeover: a key passes to another node only after its owner stopped renewing and its lease expired', async () => {
    const leaseMs = 800;
    const { schema, made, infos } = await joined(2, { leaseMs, heartbeatMs: 100 });
    const [a, b] = made as [Membership, Membership];
    const [ia, ib] = infos as [MemberInfo, MemberInfo];
    await place(b).claim('counter', 'k');
    await b.close(); // stops renewing, as after a crash
    const c = await client();
    const expires = () => leaseLeftMs(c, schema, ib.keyId);
    assert.ok((await expires()) > 0);
    assert.deepEqual(await place(a).claim('counter', 'k'), { owner: ib.keyId }, 'b still holds it');
    const t0 = performance.now();
    let owner = ib.keyId;
    while (owner === ib.keyId && performance.now() - t0 < leaseMs + 2_000) {
      const before = await expires();
      owner = (await place(a).claim('counter', 'k')).owner;
      if (owner === ib.keyId) assert.ok(before > -50, 'b kept it past its lease');
      else assert.ok(before <= 0, `a took it ${before} ms before b's lease expired`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(owner, ia.keyId);
    await a.leave();
  });

  it('concurrency: of 20 concurrent claims of one key from 4 providers, exactly one node wins, for each of 10 keys', async () => {
    const { made, infos } = await joined(4);
    const keys = new Set(infos.map((i) => i.keyId));
    const winners = new Map<string, number>();
    for (let k = 0; k < 10; k++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => place(made[i % 4]!).claim('counter', `key-${k}`)),
      );
      const owners = new Set(results.map((r) => r.owner));
      assert.equal(owners.size, 1, `key-${k}: every claimer sees one owner`);
      const [owner] = owners as Set<string>;
      assert.ok(keys.has(owner!));
      winners.set(owner!, (winners.get(owner!) ?? 0) + 1);
    }
    console.log(`# winners per node: ${[...winners.values()].join(', ')}`);
    await Promise.all(made.map((m) => m.leave()));
  });

  it('concurrency: of 4 nodes racing to take over an expired owner’s key, exactly one wins', async () => {
    const { made, infos } = await joined(5, { leaseMs: 400, heartbeatMs: 100 });
    const [dead, ...live] = made as [Membership, ...Membership[]];
    for (let k = 0; k < 5; k++) await place(dead).claim('counter', `t-${k}`);
    await dead.close();
    await new Promise((r) => setTimeout(r, 600));
    for (let k = 0; k < 5; k++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => place(live[i % 4]!).claim('counter', `t-${k}`)),
      );
      const owners = new Set(results.map((r) => r.owner));
      assert.equal(owners.size, 1, `t-${k}: one owner`);
      assert.notEqual([...owners][0], infos[0]!.keyId);
    }
    await Promise.all(live.map((m) => m.leave()));
  });

  it('state: load, save with the version, a stale writer is refused and writes nothing', async () => {
    const { made } = await joined(2);
    const [a, b] = made as [Membership, Membership];
    assert.deepEqual(await store(a).load('counter', 's'), { value: undefined, version: 0 });
    // a does not hold it yet: refused.
    await assert.rejects(store(a).save('counter', 's', { n: 1 }, 0), reasonIs('ABORTED', 'STALE_STATE'));
    await place(a).claim('counter', 's');
    assert.equal(await store(a).save('counter', 's', { n: 1, tags: ['x'] }, 0), 1);
    assert.equal(await store(a).save('counter', 's', { n: 2, tags: ['x'] }, 1), 2);
    assert.deepEqual(await store(b).load('counter', 's'), { value: { n: 2, tags: ['x'] }, version: 2 });
    await assert.rejects(store(a).save('counter', 's', { n: 9 }, 1), reasonIs('ABORTED', 'STALE_STATE'));
    await assert.rejects(store(a).save('counter', 's', { n: 9 }, 0), reasonIs('ABORTED', 'STALE_STATE'));
    // b does not hold it: refused even at the right version.
    await assert.rejects(store(b).save('counter', 's', { n: 9 }, 2), reasonIs('ABORTED', 'STALE_STATE'));
    assert.deepEqual(await store(a).load('counter', 's'), { value: { n: 2, tags: ['x'] }, version: 2 });
    // Two saves at one version: one wins.
    const raced = await Promise.allSettled([
      store(a).save('counter', 's', { n: 3 }, 2),
      store(a).save('counter', 's', { n: 4 }, 2),
    ]);
    assert.equal(raced.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal(await store(a).save('counter', 's', undefined, 3), 4, 'clear');
    assert.deepEqual(await store(b).load('counter', 's'), { value: undefined, version: 4 });
    await Promise.all(made.map((m) => m.leave()));
  });

  it('maxStateBytes: a state over the limit is refused RESOURCE_EXHAUSTED and not written; at it, saved', async () => {
    const { made } = await joined(1, { maxStateBytes: 1_000 });
    const [a] = made as [Membership];
    await place(a).claim('blob', 'b');
    // A bin 16 of n bytes encodes in n + 3 bytes.
    assert.equal(await store(a).save('blob', 'b', new Uint8Array(997), 0), 1);
    await assert.rejects(store(a).save('blob', 'b', new Uint8Array(998), 1), (e: unknown) =>
      isRpcError(e, 'RESOURCE_EXHAUSTED'),
    );
    assert.equal(((await store(a).load('blob', 'b')).value as Uint8Array).byteLength, 997);
    await a.leave();
  });

  it('refusals: FENCED before join and after leave; STORE_UNAVAILABLE with the pg error as cause', async () => {
    const lone = pgf.adopt(postgresMembership({ connection: pgf.url, schema: 'p_lone' }));
    await assert.rejects(place(lone).claim('counter', 'k'), reasonIs('UNAVAILABLE', 'FENCED'));
    const { schema, made } = await joined(1);
    const [a] = made as [Membership];
    const c = await client();
    await c.query(`ALTER TABLE ${schema}.placements RENAME TO placements_gone`);
    await assert.rejects(place(a).claim('counter', 'k'), (e: unknown) => {
      assert.ok(reasonIs('UNAVAILABLE', 'STORE_UNAVAILABLE')(e));
      assert.ok(
        (e as Error).cause instanceof Error && /placements/.test(((e as Error).cause as Error).message),
      );
      return true;
    });
    await c.query(`ALTER TABLE ${schema}.placements_gone RENAME TO placements`);
    const lease = leaseOf(a);
    assert.equal(lease(), 'valid');
    await a.leave();
    assert.equal(lease(), 'fenced');
    await assert.rejects(place(a).claim('counter', 'k'), reasonIs('UNAVAILABLE', 'FENCED'));
  });

  it('fenceMarginMs, heartbeatTimeoutMs: a node whose renewals hang fences itself before its lease expires; only then may another take its keys', async () => {
    const leaseMs = 1_500;
    const errors: unknown[] = [];
    const { schema, made, infos } = await joined(
      2,
      { leaseMs, heartbeatMs: 200, heartbeatTimeoutMs: 300, fenceMarginMs: 300 },
      (e) => errors.push(e),
    );
    const [a, b] = made as [Membership, Membership];
    const [ia, ib] = infos as [MemberInfo, MemberInfo];
    await place(b).claim('counter', 'f');
    const lease = leaseOf(b);
    assert.equal(lease(), 'valid');
    // Hold b's member row locked: its renewals (and reconnections' renewals) hang; a's do not.
    const locker = await client();
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM ${schema}.members WHERE key_id = $1 FOR UPDATE`, [ib.keyId]);
    const watcher = await client();
    const remaining = () => leaseLeftMs(watcher, schema, ib.keyId);
    const fencedAt = new Promise<number>((resolve) =>
      b.placement!.lease$.subscribe((s) => s === 'fenced' && resolve(performance.now())),
    );
    let takenAt = 0;
    const t0 = performance.now();
    // a tries to take b's key meanwhile; it must fail until b's lease has expired.
    while (performance.now() - t0 < leaseMs + 2_000) {
      const { owner } = await place(a).claim('counter', 'f');
      if (owner === ia.keyId) {
        takenAt = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const fenced = await fencedAt;
    assert.ok(takenAt > 0, 'a took the key after b’s lease expired');
    assert.ok(fenced < takenAt, 'b fenced itself before a could take its key');
    console.log(`# b fenced ${(takenAt - fenced).toFixed(0)} ms before a took its key`);
    await assert.rejects(place(b).claim('counter', 'g'), reasonIs('UNAVAILABLE', 'FENCED'));
    assert.ok(
      errors.some((e) => /longer than 300 ms/.test((e as Error).message)),
      'the hung renewals timed out',
    );
    await locker.query('ROLLBACK');
    // b renews again: valid, and learns that a holds its old key.
    await waitFor('b valid again', () => lease() === 'valid', 3_000);
    assert.deepEqual(await place(b).claim('counter', 'f'), { owner: ia.keyId });
    void remaining;
    await Promise.all(made.map((m) => m.leave()));
  });

  it('leaseValid: the lease by the clock, even while the event loop is too busy for the fence timer', async () => {
    const leaseMs = 1_000;
    const { made } = await joined(1, { leaseMs, heartbeatMs: 200, fenceMarginMs: 300 });
    const [a] = made as [Membership];
    const lease = leaseOf(a);
    assert.equal(lease(), 'valid');
    assert.equal(place(a).leaseValid!(), true);
    // Block the event loop for a whole lease: no renewal completes and the fence timer cannot run.
    const end = performance.now() + leaseMs;
    while (performance.now() < end) {
      // busy: nothing else of this process runs
    }
    assert.equal(lease(), 'valid', 'lease$ has not said it yet: its timer has not run');
    assert.equal(place(a).leaseValid!(), false, 'the clock says the lease is out');
  });

  it('fencing: lease$ turns fenced before the database’s lease_expires_at of the node', async () => {
    const leaseMs = 1_200;
    const { schema, made, infos } = await joined(1, { leaseMs, heartbeatMs: 200, fenceMarginMs: 300 });
    const [b] = made as [Membership];
    const locker = await client();
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM ${schema}.members WHERE key_id = $1 FOR UPDATE`, [infos[0]!.keyId]);
    const watcher = await client();
    const left = await new Promise<number>((resolve, reject) => {
      b.placement!.lease$.subscribe((s) => {
        if (s !== 'fenced') return;
        watcher
          .query(
            `SELECT (extract(epoch FROM lease_expires_at - clock_timestamp()) * 1000)::float8 AS ms FROM ${schema}.members`,
          )
          .then((r) => resolve(Number(r.rows[0].ms)), reject);
      });
    });
    console.log(`# fenced ${left.toFixed(0)} ms before the database's lease_expires_at`);
    assert.ok(left > 0, `fenced ${left} ms before expiry`);
    await locker.query('ROLLBACK');
    await b.leave();
  });

  it('expiredRetentionMs: a refresh deletes member rows expired longer than that, with their claims', async () => {
    const { schema, made } = await joined(1, {
      leaseMs: 400,
      heartbeatMs: 100,
      refreshMs: 100,
      expiredRetentionMs: 400,
    });
    const [a] = made as [Membership];
    const c = await client();
    const old = memberOn(7399).keyId;
    const recent = memberOn(7398).keyId;
    await c.query(
      `INSERT INTO ${schema}.members (key_id, tls_host, tls_port, lease_expires_at) VALUES
         ($1, '127.0.0.1', 7399, now() - interval '1 hour'), ($2, '127.0.0.1', 7398, now() - interval '100 ms')`,
      [old, recent],
    );
    await c.query(`INSERT INTO ${schema}.placements (actor, key, owner_key_id) VALUES ('counter', 'o', $1)`, [
      old,
    ]);
    const count = async (where: string) =>
      Number((await c.query(`SELECT count(*)::int AS n FROM ${schema}.${where}`)).rows[0].n);
    const t0 = Date.now();
    while ((await count(`members WHERE key_id = '${old}'`)) > 0 && Date.now() - t0 < 3_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await count(`members WHERE key_id = '${old}'`), 0, 'the long-expired row is gone');
    assert.equal(await count('placements'), 0, 'with its claim');
    assert.equal(await count(`members WHERE key_id = '${recent}'`), 1, 'a recently expired row stays');
    await a.leave();
  });
});
