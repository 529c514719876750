/**
 * Keyed actors with durable state when the database stops answering, end to end: two nodes hosting a
 * keyed actor with `state: true` and a client, each a member of the `postgres` provider (a throwaway
 * server), over real TLS on 127.0.0.1. Another session locks a table so that claims (placements) or
 * state loads (actor_state) really hang: a call for a key that is not active then fails UNAVAILABLE
 * reason STORE_UNAVAILABLE within about queryTimeoutMs, long before its deadline; a key already active
 * keeps answering; once the lock is gone the key activates with the state it had.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import pg from 'pg';
import { inject } from 'tsyringe';
import { ACTOR_STATE, type ActorState, actor, isRpcError, type RpcError } from '../../src/actors/index.js';
import type { ActorSystem } from '../../src/actors/system.js';
import { Identity } from '../../src/auth/identity.js';
import { postgresMembership } from '../../src/cluster/postgres/membership.js';
import { initdbPath, NO_POSTGRES, type PostgresServer, startPostgres } from '../support/postgres.js';
import { waitFor } from './members.js';
import { grantOf, type Node, startNode } from './nodes.js';

const QUERY_MS = 300;
/** The deadline of every call: a call that waited for a hung query until then would fail the spec. */
const DEADLINE_MS = 5_000;

@actor('tally', { keyed: true, state: true, idleMs: 60_000 })
class Tally {
  constructor(@inject(ACTOR_STATE) readonly state: ActorState<number>) {}
  async add(by: number): Promise<number> {
    this.state.value = (this.state.value ?? 0) + by;
    await this.state.save();
    return this.state.value;
  }
  get(): number {
    return this.state.value ?? 0;
  }
}

interface TallyRef {
  add(by: number): Promise<number>;
  get(): Promise<number>;
}

const storeUnavailable = (e: unknown) =>
  isRpcError(e) && e.code === 'UNAVAILABLE' && (e as RpcError).reason === 'STORE_UNAVAILABLE';

/** `p`'s outcome and how long it took. */
async function timed<T>(p: PromiseLike<T>) {
  const t0 = performance.now();
  try {
    return { value: await p, ms: performance.now() - t0 };
  } catch (error) {
    return { error, ms: performance.now() - t0 };
  }
}

const systems: ActorSystem[] = [];

describe('keyed actors when the database stops answering (TLS on 127.0.0.1, postgres)', {
  skip: initdbPath() ? false : NO_POSTGRES,
}, () => {
  let server: PostgresServer;
  const clients: pg.Client[] = [];
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    // The sessions first: a lock still held (a failed test) would hold the systems' closes.
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await Promise.all(systems.map((s) => s.close()));
    await server?.stop();
  });

  const session = async () => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    clients.push(c);
    return c;
  };

  it('a key whose claim or state load hangs fails STORE_UNAVAILABLE fast; active keys carry on; it activates once the database is back', async () => {
    const schema = 'outage';
    const membership = () =>
      postgresMembership({
        connection: server.url,
        schema,
        config: { refreshMs: 60_000, queryTimeoutMs: QUERY_MS },
      });
    const nodes: Node[] = [];
    for (let i = 0; i < 2; i++) {
      const identity = Identity.generate();
      nodes.push(
        await startNode(
          systems,
          { tally: Tally },
          { grant: grantOf(identity), identity, membership: membership() },
        ),
      );
    }
    const clientId = Identity.generate();
    const { system: client, membership: view } = await startNode(
      systems,
      {},
      { grant: grantOf(clientId), identity: clientId, membership: membership() },
    );
    await waitFor(
      'the client sees both nodes',
      () => view.members().filter((m) => m.actors.includes('tally')).length === 2,
    );
    const tally = (key: string) => client.clusterRef<TallyRef>('tally', { key, timeoutMs: DEADLINE_MS });

    // Saved state of two keys that are not active anywhere.
    const sql = await session();
    for (const [key, n] of [
      ['cold', 5],
      ['cold2', 10],
    ] as const) {
      await sql.query(
        `INSERT INTO ${schema}.actor_state (actor, key, version, value) VALUES ('tally', $1, 1, $2)`,
        [key, Buffer.from(encode(n))],
      );
    }
    assert.equal(await tally('warm').add(1), 1);

    // 1. Claims hang: another session holds placements in SHARE mode (inserts and updates wait; the
    //    row locks of saves do not).
    const locker = await session();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${schema}.placements IN SHARE MODE`);
    const [cold, warm] = await Promise.all([timed(tally('cold').add(1)), timed(tally('warm').add(1))]);
    assert.ok(storeUnavailable(cold.error), `claim: ${String(cold.error)}`);
    assert.match((cold.error as Error).message, /queryTimeoutMs/);
    assert.ok(cold.ms < QUERY_MS + 1_200, `the claim failed after ${cold.ms.toFixed(0)} ms`);
    assert.equal(warm.value, 2, `the active key: ${String(warm.error)}`);
    const again = await timed(tally('warm').add(1));
    assert.equal(again.value, 3, 'the active key, while claims still hang');
    await locker.query('ROLLBACK');
    assert.equal(await tally('cold').add(1), 6, 'activated with its saved state once claims work');

    // 2. Loads hang: another session holds actor_state (the claim works, the load waits).
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${schema}.actor_state IN ACCESS EXCLUSIVE MODE`);
    const [cold2, warmGet] = await Promise.all([timed(tally('cold2').add(1)), timed(tally('warm').get())]);
    assert.ok(storeUnavailable(cold2.error), `load: ${String(cold2.error)}`);
    assert.match((cold2.error as Error).message, /load failed.*queryTimeoutMs/);
    assert.ok(cold2.ms < QUERY_MS + 1_200, `the load failed after ${cold2.ms.toFixed(0)} ms`);
    assert.equal(warmGet.value, 3, `the active key: ${String(warmGet.error)}`);
    await locker.query('ROLLBACK');
    assert.equal(await tally('cold2').add(1), 11, 'activated with its saved state once loads work');
    assert.equal(await tally('warm').add(1), 4);
    assert.equal(await tally('cold').add(1), 7);
    console.log(
      `# claim hung: the call failed after ${cold.ms.toFixed(0)} ms, the active key answered in ${warm.ms.toFixed(0)} ms; load hung: failed after ${cold2.ms.toFixed(0)} ms, the active key answered in ${warmGet.ms.toFixed(0)} ms (queryTimeoutMs ${QUERY_MS}, deadline ${DEADLINE_MS})`,
    );
  });
});
