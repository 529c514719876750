/**
 * `queryTimeoutMs` of the `postgres` provider against a real PostgreSQL (a throwaway server for this
 * file; a schema per test): another session holds a lock, so a claim or a save really hangs on the
 * server. It fails STORE_UNAVAILABLE within about queryTimeoutMs, its connection is dropped, the
 * queries queued behind it run on a new connection, and once the lock is freed claims and saves work
 * again. A save cut that way is of unknown outcome; a retry with the same expected version is safe.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type pg from 'pg';
import { isRpcError, type RpcError } from '../../src/actors/errors.js';
import type { MembershipConfig } from '../../src/cluster/config.js';
import type { MemberInfo } from '../../src/cluster/member.js';
import type { Membership } from '../../src/cluster/membership.js';
import { initdbPath, NO_POSTGRES } from '../support/postgres.js';
import { postgresFixture } from './postgres-fixture.js';

const QUERY_MS = 300;

const storeUnavailable = (e: unknown) =>
  isRpcError(e) &&
  e.code === 'UNAVAILABLE' &&
  (e as RpcError).reason === 'STORE_UNAVAILABLE' &&
  /queryTimeoutMs/.test((e as Error).message);
/** leave() reports the provider's own timeout error (it is not a keyed call: no RpcError wrapping). */
const storeUnavailableOrTimeout = (e: unknown) => e instanceof Error && /queryTimeoutMs/.test(e.message);
const stale = (e: unknown) =>
  isRpcError(e) && e.code === 'ABORTED' && (e as RpcError).reason === 'STALE_STATE';

/** How `p` settled and after how many ms; a bound so that a hang fails the spec instead of holding it. */
async function settle<T>(p: Promise<T>, boundMs = 4_000) {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<{ hung: true }>((resolve) => {
    timer = setTimeout(() => resolve({ hung: true }), boundMs);
  });
  const out = await Promise.race([
    p.then(
      (value) => ({ value, ms: performance.now() - t0 }),
      (error: unknown) => ({ error, ms: performance.now() - t0 }),
    ),
    bound,
  ]);
  clearTimeout(timer);
  assert.ok(!('hung' in out), `still pending after ${boundMs} ms`);
  return out as { value?: T; error?: unknown; ms: number };
}

/** Polls the async `ok` every 10 ms until it holds, for at most `timeoutMs`. */
async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await ok())) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('postgres queryTimeoutMs', { skip: initdbPath() ? false : NO_POSTGRES }, () => {
  const pgf = postgresFixture('q', 7400, { queryTimeoutMs: QUERY_MS });
  const joined = (n: number, config: Partial<MembershipConfig> = {}, connection?: string) =>
    pgf.joined(n, config, connection ? { connection } : {});
  const client = () => pgf.client();
  /** Sessions (other than the caller's) whose statement on `table` waits for a lock. */
  const waiting = async (c: pg.Client, table: string) =>
    (
      await c.query(
        `SELECT pid FROM pg_stat_activity
          WHERE pid <> pg_backend_pid() AND state = 'active' AND wait_event_type = 'Lock' AND query LIKE $1`,
        [`%${table}%`],
      )
    ).rows.map((r) => r.pid as number);

  it('queryTimeoutMs: leave against a members table locked by another session ends within the timeout', async () => {
    const { schema, made } = await joined(1);
    const [a] = made as [Membership];
    const locker = await client();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${schema}.members IN ACCESS EXCLUSIVE MODE`);
    const left = await settle(a.leave());
    assert.ok(storeUnavailableOrTimeout(left.error), `leave: ${String(left.error)}`);
    assert.ok(left.ms < QUERY_MS + 700, `leave ended after ${left.ms.toFixed(0)} ms`);
    await locker.query('ROLLBACK');
  });

  it('queryTimeoutMs: a claim that hangs on a row lock fails STORE_UNAVAILABLE; the queued queries run on a new connection; after the lock, claims work', async () => {
    const { schema, made, infos } = await joined(2);
    const [a, b] = made as [Membership, Membership];
    const [ia, ib] = infos as [MemberInfo, MemberInfo];
    await a.placement!.claim('counter', 'k');
    const locker = await client();
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM ${schema}.placements WHERE actor = 'counter' AND key = 'k' FOR UPDATE`);
    // b's claim of k hangs on the lock; a claim and a load queued behind it on b's query connection.
    const hung = settle(b.placement!.claim('counter', 'k'));
    const queuedClaim = settle(b.placement!.claim('counter', 'free'));
    const queuedLoad = settle(b.state!.load('counter', 'free'));
    const first = await hung;
    assert.ok(storeUnavailable(first.error), `the hung claim: ${String(first.error)}`);
    assert.ok(
      first.ms >= QUERY_MS - 5 && first.ms < QUERY_MS + 700,
      `failed after ${first.ms.toFixed(0)} ms`,
    );
    const claimed = await queuedClaim;
    assert.deepEqual(claimed.value, { owner: ib.keyId }, `queued claim: ${String(claimed.error)}`);
    assert.ok(claimed.ms >= first.ms, 'the queued claim ran after the hung one failed');
    assert.deepEqual((await queuedLoad).value, { value: undefined, version: 0 });
    // The cut statement still waits on the server, on the old connection: b's new one is free.
    const watcher = await client();
    assert.equal((await waiting(watcher, 'placements')).length, 1, 'the cut claim still waits on the server');
    await locker.query('ROLLBACK');
    await until(
      'the cut claim ended on the server',
      async () => (await waiting(watcher, 'placements')).length === 0,
    );
    assert.deepEqual(await b.placement!.claim('counter', 'k'), { owner: ia.keyId }, 'a still holds k');
    assert.deepEqual(await a.placement!.claim('counter', 'k'), { owner: ia.keyId });
    console.log(
      `# hung claim failed after ${first.ms.toFixed(0)} ms (queryTimeoutMs ${QUERY_MS}); the queued claim answered after ${claimed.ms.toFixed(0)} ms`,
    );
    await Promise.all(made.map((m) => m.leave()));
  });

  it('queryTimeoutMs: a save cut mid-statement is of unknown outcome; a retry with the same expected version never writes twice', async () => {
    const { schema, made } = await joined(1);
    const a = made[0]!;
    await a.placement!.claim('counter', 's');
    assert.equal(await a.state!.save('counter', 's', { n: 1 }, 0), 1);
    const locker = await client();
    const watcher = await client();
    const lockClaim = async () => {
      await locker.query('BEGIN');
      await locker.query(
        `SELECT 1 FROM ${schema}.placements WHERE actor = 'counter' AND key = 's' FOR UPDATE`,
      );
    };
    const stored = async () =>
      Number(
        (
          await watcher.query(
            `SELECT version FROM ${schema}.actor_state WHERE actor = 'counter' AND key = 's'`,
          )
        ).rows[0].version,
      );

    // 1. The server completes the cut save once the lock is freed: the retry is refused STALE_STATE.
    await lockClaim();
    const cut = await settle(a.state!.save('counter', 's', { n: 2 }, 1));
    assert.ok(storeUnavailable(cut.error), `the hung save: ${String(cut.error)}`);
    assert.ok(cut.ms < QUERY_MS + 700, `failed after ${cut.ms.toFixed(0)} ms`);
    assert.equal((await waiting(watcher, 'actor_state')).length, 1, 'the cut save still waits on the server');
    await locker.query('COMMIT');
    await until(
      'the cut save ended on the server',
      async () => (await waiting(watcher, 'actor_state')).length === 0,
    );
    assert.equal(await stored(), 2, 'the cut save committed after its caller was told it failed');
    await assert.rejects(a.state!.save('counter', 's', { n: 2 }, 1), stale);
    assert.deepEqual(await a.state!.load('counter', 's'), { value: { n: 2 }, version: 2 });

    // 2. The cut save's session is ended before the lock is freed: nothing was written, the retry writes.
    await lockClaim();
    const cut2 = await settle(a.state!.save('counter', 's', { n: 3 }, 2));
    assert.ok(storeUnavailable(cut2.error), `the hung save: ${String(cut2.error)}`);
    const [pid] = await waiting(watcher, 'actor_state');
    assert.ok(pid !== undefined, 'the cut save waits on the server');
    await watcher.query('SELECT pg_terminate_backend($1)', [pid]);
    await locker.query('COMMIT');
    assert.equal(await stored(), 2, 'the cut save did not commit');
    assert.equal(await a.state!.save('counter', 's', { n: 3 }, 2), 3, 'the retry writes');
    assert.deepEqual(await a.state!.load('counter', 's'), { value: { n: 3 }, version: 3 });
    await a.leave();
  });

  it('queryTimeoutMs: when no new connection can be opened, the queries queued behind a cut one fail STORE_UNAVAILABLE, then work again', async () => {
    const admin = await client();
    await admin.query('CREATE ROLE q_node LOGIN SUPERUSER');
    const { schema, made, infos } = await joined(1, {}, pgf.url.replace('postgres@', 'q_node@'));
    const a = made[0]!;
    await a.placement!.claim('counter', 'k');
    await admin.query('BEGIN');
    await admin.query(`SELECT 1 FROM ${schema}.placements WHERE actor = 'counter' AND key = 'k' FOR UPDATE`);
    const other = await client();
    await other.query('ALTER ROLE q_node NOLOGIN');
    try {
      const hung = settle(a.placement!.claim('counter', 'k'));
      const queuedClaim = settle(a.placement!.claim('counter', 'free'));
      const queuedLoad = settle(a.state!.load('counter', 'free'));
      const first = await hung;
      assert.ok(storeUnavailable(first.error), `the hung claim: ${String(first.error)}`);
      for (const queued of [await queuedClaim, await queuedLoad]) {
        const e = queued.error as RpcError;
        assert.ok(isRpcError(e) && e.code === 'UNAVAILABLE' && e.reason === 'STORE_UNAVAILABLE', String(e));
        assert.match(e.message, /not permitted to log in/);
        assert.ok(queued.ms < first.ms + 1_000, `failed after ${queued.ms.toFixed(0)} ms`);
      }
    } finally {
      await other.query('ALTER ROLE q_node LOGIN');
      await admin.query('ROLLBACK');
    }
    assert.deepEqual(await a.placement!.claim('counter', 'free'), { owner: infos[0]!.keyId });
    assert.deepEqual(await a.placement!.claim('counter', 'k'), { owner: infos[0]!.keyId });
    await a.leave();
  });
});
