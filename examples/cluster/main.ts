/**
 * Cluster: three node processes (node.ts) against one PostgreSQL, keyed counters that move when a node
 * is killed, and keep their counts.
 *
 * The database: `DATABASE_URL` when set (the example uses its own schema, `rxchan_example`), else a
 * throwaway server made with `initdb` and `pg_ctl` in a temp folder (removed at the end) when
 * PostgreSQL is installed.
 *
 * What it does: an admin key signs a grant for each node and for this client. The client adds 1 to six
 * counters (`user-1` to `user-6`) every 250 ms through keyed refs, which find each key's node through
 * the cluster, and prints a progress line per second: each counter's count and the node that holds it.
 * After 3 seconds it kills (`SIGKILL`) the node holding the most counters. Their calls fail UNAVAILABLE
 * until that node's lease expires (3 s here); then each key is activated on a live node, loads its
 * saved count and goes on. At the end it checks that no answered add was lost: each count is at least
 * the number of adds answered (and at most that plus the adds whose answer the kill cut off).
 *
 * Run: `node dist/examples/cluster/main.js`. Exits 0 on success (see examples/lib/run.ts).
 */
import 'reflect-metadata';
import { ActorSystem, Identity, isRpcError, postgresMembership } from '../../src/index.js';
import { initdbPath, startPostgres } from '../lib/postgres.js';
import { type Log, runExample } from '../lib/run.js';
import { grantFor, killNode, type NodeProcess, startNode, stopNode } from './launch.js';
import type { Counter } from './node.js';

const KEYS = ['user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6'];
const NODES = ['a', 'b', 'c'];
const LEASE_MS = 3_000;
const TICK_MS = 250;
const RUN_MS = 10_000;
const KILL_AT_MS = 3_000;

runExample(
  'cluster',
  async (log: Log) => {
    const db = await database(log);
    const admin = Identity.generate();
    const nodes: NodeProcess[] = [];
    let client: ActorSystem | undefined;
    try {
      for (const name of NODES) {
        nodes.push(
          await startNode({ name, url: db.url, schema: SCHEMA, admin, leaseMs: LEASE_MS, heartbeatMs: 500 }),
        );
      }
      log(`three nodes up: ${nodes.map((n) => `${n.name}=${n.keyId.slice(0, 8)}`).join(' ')}`);

      const identity = Identity.generate();
      client = new ActorSystem({
        identity,
        authorizedKeys: [{ key: admin.id, name: 'admin', admin: true }],
        cluster: {
          membership: postgresMembership({
            connection: db.url,
            schema: SCHEMA,
            config: { leaseMs: LEASE_MS, heartbeatMs: 500 },
          }),
          adminKey: admin.id,
          grant: grantFor(admin, identity),
        },
      });
      await client.watchCluster(); // hosts nothing: follows the members without joining, no listener

      const answered = new Map(KEYS.map((k) => [k, 0]));
      const unsure = new Map(KEYS.map((k) => [k, 0]));
      const last = new Map<string, string>();
      const holders = new Map<string, Set<string>>();
      const refs = new Map(KEYS.map((k) => [k, client!.ref<Counter>('counter', k, { timeoutMs: 2_000 })]));
      const start = Date.now();
      let killed: string | undefined;
      let nextLine = 1_000;
      while (Date.now() - start < RUN_MS) {
        const t = Date.now() - start;
        if (!killed && t >= KILL_AT_MS) {
          killed = victim(last);
          killNode(nodes.find((n) => n.name === killed)!);
          const keys = KEYS.filter((k) => last.get(k) === killed);
          log(`t=${(t / 1000).toFixed(1)}s kill -9 node ${killed}, holding ${keys.join(', ')}`);
        }
        await Promise.all(
          KEYS.map(async (key) => {
            try {
              const r = await refs.get(key)!.add(1);
              answered.set(key, answered.get(key)! + 1);
              last.set(key, r.node);
              if (!holders.has(key)) holders.set(key, new Set());
              holders.get(key)!.add(r.node);
            } catch (err) {
              if (!isRpcError(err) || (err.code !== 'UNAVAILABLE' && err.code !== 'DEADLINE_EXCEEDED'))
                throw err;
              unsure.set(key, unsure.get(key)! + 1);
              last.set(key, '?');
            }
          }),
        );
        if (Date.now() - start >= nextLine) {
          nextLine += 1_000;
          const counts = await Promise.all(
            KEYS.map((k) =>
              last.get(k) === '?'
                ? Promise.resolve('  -')
                : refs
                    .get(k)!
                    .get()
                    .then((r) => String(r.n).padStart(3)),
            ),
          );
          log(
            `t=${Math.round((Date.now() - start) / 1000)}s ${KEYS.map((k, i) => `${k}=${counts[i]}@${last.get(k) ?? '?'}`).join(' ')}`,
          );
        }
        await new Promise((r) => setTimeout(r, TICK_MS));
      }

      // Every count survived the kill: at least the adds answered, at most those plus the unsure ones.
      for (const key of KEYS) {
        const { n } = await refs.get(key)!.get();
        const lo = answered.get(key)!;
        const hi = lo + unsure.get(key)!;
        if (n < lo || n > hi) throw new Error(`${key}: count ${n}, expected ${lo} to ${hi}`);
      }
      const moved = KEYS.filter((k) => (holders.get(k)?.size ?? 0) > 1);
      if (moved.length === 0) throw new Error('no counter moved');
      log(
        `moved from ${killed} to live nodes: ${moved.map((k) => `${k} (${[...holders.get(k)!].join('→')})`).join(', ')}`,
      );
      log('no answered add was lost');
    } finally {
      await client?.close();
      await Promise.all(nodes.map((n) => stopNode(n)));
      await db.stop();
    }
  },
  90_000,
);

const SCHEMA = 'rxchan_example';

/** DATABASE_URL, or a throwaway server when PostgreSQL is installed. */
async function database(log: Log): Promise<{ url: string; stop(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url) {
    log(`PostgreSQL at DATABASE_URL, schema ${SCHEMA}`);
    return { url, stop: async () => {} };
  }
  if (!initdbPath())
    throw new Error('set DATABASE_URL, or install PostgreSQL (initdb) for a throwaway server');
  const server = await startPostgres();
  log('a throwaway PostgreSQL in a temp folder');
  return server;
}

/** The node holding the most counters. */
function victim(last: Map<string, string>): string {
  const count = new Map<string, number>();
  for (const node of last.values()) count.set(node, (count.get(node) ?? 0) + 1);
  return [...count.entries()].filter(([n]) => n !== '?').sort((a, b) => b[1] - a[1])[0]![0];
}
