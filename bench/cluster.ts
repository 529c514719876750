/**
 * The cluster (issue 14): three node processes of examples/cluster (node.ts) against a throwaway
 * PostgreSQL, and a client in this process, all on 127.0.0.1 over mutual TLS 1.3.
 *
 * 1. Calls/s, a cluster ref against a direct ref, in the same run: the stateless `echo.whoami()` with
 *    `BENCH_CLUSTER_IN_FLIGHT` calls in flight (direct: to one node; cluster: round robin over the
 *    three), and `counter.get()` on active keys (a keyed ref through the cluster, which finds each key's
 *    node and keeps it, against a direct keyed ref to the node holding the key). Each driven as users
 *    write it (`await ref.method()` in a loop per worker). Beside the rate: the CPU time this process
 *    (the client) spent per call over the window, user and system, which the load of other processes
 *    on the machine sways far less than the rate.
 * 2. First-call activation latency: `add(1)` on a key never used (claim in PostgreSQL, load its state,
 *    make the activation, save), against the next call on that key.
 * 3. Failover time after `kill -9`: from the kill of the node holding the most of 24 active keys to
 *    the first answer of each of its keys from another node, for `BENCH_CLUSTER_LEASE_MS` leases; a new
 *    node replaces the killed one before the next round.
 *
 * Knobs: BENCH_CLUSTER_RUNS (3), BENCH_CLUSTER_MS (3000 per window), BENCH_CLUSTER_IN_FLIGHT (64),
 * BENCH_CLUSTER_LEASE_MS (3000), BENCH_CLUSTER_KEYS (200, for the activation latency).
 */
import 'reflect-metadata';
import { grantFor, killNode, type NodeProcess, startNode, stopNode } from '../examples/cluster/launch.js';
import type { Counter, Echo } from '../examples/cluster/node.js';
import { initdbPath, startPostgres } from '../examples/lib/postgres.js';
import { ActorSystem } from '../src/actors/system.js';
import { Identity } from '../src/auth/identity.js';
import { postgresMembership } from '../src/cluster/postgres/membership.js';
import { type CallFn, inFlight, quantile, sequential } from './lib/actors-load.js';
import { envInt } from './lib/env.js';
import { nowMs } from './lib/stats.js';
import { printTable } from './lib/table.js';
import { fmt, formatRatio, pairedRatio } from './suite/report.js';

const SCHEMA = 'rxchan';

export async function run(): Promise<void> {
  if (!initdbPath()) {
    console.log('cluster: skipped, PostgreSQL is not installed (initdb)');
    return;
  }
  const runs = envInt('BENCH_CLUSTER_RUNS', 3, 1);
  const windowMs = envInt('BENCH_CLUSTER_MS', 3_000, 100);
  const n = envInt('BENCH_CLUSTER_IN_FLIGHT', 64, 1);
  const leaseMs = envInt('BENCH_CLUSTER_LEASE_MS', 3_000, 100);
  const heartbeatMs = Math.max(10, Math.floor(leaseMs / 6));
  const freshKeys = envInt('BENCH_CLUSTER_KEYS', 200, 1);

  const db = await startPostgres();
  const admin = Identity.generate();
  const nodes: NodeProcess[] = [];
  let client: ActorSystem | undefined;
  const start = (name: string) =>
    startNode({ name, url: db.url, schema: SCHEMA, admin, leaseMs, heartbeatMs }).then((p) => {
      nodes.push(p);
      return p;
    });
  try {
    await Promise.all(['a', 'b', 'c'].map(start));
    const identity = Identity.generate();
    const membership = postgresMembership({
      connection: db.url,
      schema: SCHEMA,
      config: { leaseMs, heartbeatMs },
    });
    client = new ActorSystem({
      identity,
      authorizedKeys: [{ key: admin.id, name: 'admin', admin: true }],
      config: { reconnectBaseMs: 20, reconnectMaxMs: 100 },
      cluster: { membership, adminKey: admin.id, grant: grantFor(admin, identity) },
    });
    await client.watchCluster(); // hosts nothing: a watcher, not a member
    await until(() => membership.members().length === 3, 10_000, 'the client to see three nodes');
    const c = client;

    // 1. Calls/s.
    const a = nodes[0]!;
    const direct = c.ref<Echo>('echo', { host: '127.0.0.1', port: a.port, key: a.keyId });
    const viaCluster = c.clusterRef<Echo>('echo');
    const keys = Array.from({ length: n }, (_, i) => `hot-${i}`);
    for (const k of keys) await c.ref<Counter>('counter', k).add(1);
    const keyedCluster = keys.map((k) => c.ref<Counter>('counter', k));
    const owners = new Map<string, NodeProcess>();
    for (const k of keys) {
      const name = (await keyedCluster[keys.indexOf(k)]!.get()).node;
      owners.set(k, nodes.find((p) => p.name === name)!);
    }
    const keyedDirect = keys.map((k) => {
      const o = owners.get(k)!;
      return c.ref<Counter>('counter', k, { peer: { host: '127.0.0.1', port: o.port, key: o.keyId } });
    });
    const roundRobin = (refs: { get(): Promise<unknown> }[]): CallFn => {
      let i = 0;
      return () => refs[i++ % refs.length]!.get();
    };
    const variants: Record<string, CallFn> = {
      'echo, direct ref (one node)': () => direct.whoami(),
      'echo, cluster ref (three nodes)': () => viaCluster.whoami(),
      'counter.get, direct keyed ref': roundRobin(keyedDirect),
      'counter.get, keyed ref through the cluster': roundRobin(keyedCluster),
    };
    const rates: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((v) => [v, []]));
    const p50: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((v) => [v, []]));
    const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((v) => [v, []]));
    for (const [name, call] of Object.entries(variants)) await inFlight(call, n, 500, `${name} warm-up`);
    for (let r = 0; r < runs; r++) {
      for (const [name, call] of Object.entries(variants)) {
        const t0 = nowMs();
        const c0 = process.cpuUsage();
        const rate = await inFlight(call, n, windowMs, name);
        const used = process.cpuUsage(c0);
        const calls = (rate * (nowMs() - t0)) / 1000;
        rates[name]!.push(rate);
        cpu[name]!.push((used.user + used.system) / calls);
        p50[name]!.push((await sequential(call, Math.min(windowMs, 1_000), name)).p50);
      }
    }
    const names = Object.keys(variants);
    printTable(
      `cluster refs against direct refs: ${n} calls in flight (calls/s, and the client's CPU per call), one at a time (p50 µs), ${windowMs} ms windows, median (min–max) of ${runs}`,
      ['calls', 'calls/s', 'vs direct', 'client CPU µs/call', 'vs direct', 'p50 µs'],
      names.map((name, i) => [
        name,
        fmt(rates[name]!),
        i % 2 === 1 ? formatRatio(pairedRatio(rates[name]!, rates[names[i - 1]!]!)) : '1',
        fmt(cpu[name]!, 1),
        i % 2 === 1 ? formatRatio(pairedRatio(cpu[name]!, cpu[names[i - 1]!]!)) : '1',
        fmt(p50[name]!),
      ]),
    );

    // 2. First-call activation latency.
    const first = new Float64Array(freshKeys);
    const second = new Float64Array(freshKeys);
    for (let i = 0; i < freshKeys; i++) {
      const ref = c.ref<Counter>('counter', `fresh-${i}`);
      let t = nowMs();
      await ref.add(1);
      first[i] = (nowMs() - t) * 1000;
      t = nowMs();
      await ref.add(1);
      second[i] = (nowMs() - t) * 1000;
    }
    first.sort();
    second.sort();
    printTable(
      `first-call activation: ${freshKeys} new keys, add(1) (claim, load, activate, save) then add(1) again, µs`,
      ['call', 'p50', 'p90', 'p99', 'max'],
      [
        ['first (activates)', ...[0.5, 0.9, 0.99, 1].map((q) => quantile(first, q).toFixed(0))],
        ['second (active)', ...[0.5, 0.9, 0.99, 1].map((q) => quantile(second, q).toFixed(0))],
      ],
    );

    // 3. Failover after kill -9.
    const failover: number[][] = [];
    for (let r = 0; r < runs; r++) {
      const ks = Array.from({ length: 24 }, (_, i) => `move-${r}-${i}`);
      const held = new Map<string, string>();
      for (const k of ks) held.set(k, (await c.ref<Counter>('counter', k).add(1)).node);
      const live = nodes.filter((p) => p.killedAt === undefined);
      const victim = live
        .map((p) => ({ p, count: [...held.values()].filter((v) => v === p.name).length }))
        .sort((x, y) => y.count - x.count)[0]!.p;
      const itsKeys = ks.filter((k) => held.get(k) === victim.name);
      killNode(victim);
      const times = await Promise.all(
        itsKeys.map(async (k) => {
          const ref = c.ref<Counter>('counter', k, { timeoutMs: 1_000 });
          const end = Date.now() + leaseMs + 20_000;
          while (Date.now() < end) {
            try {
              await ref.add(1);
              return Date.now() - victim.killedAt!;
            } catch {
              await new Promise((res) => setTimeout(res, 10));
            }
          }
          throw new Error(`${k} did not fail over`);
        }),
      );
      failover.push(times);
      await start(`r${r}`);
      await until(
        () => membership.members().filter((m) => m.actors.includes('counter')).length === 3,
        10_000,
        'the replacement node',
      );
    }
    printTable(
      `failover after kill -9: ms from the kill to each of the victim's keys answering from another node; lease ${leaseMs} ms, heartbeat ${heartbeatMs} ms`,
      ['round', 'keys', 'first', 'median', 'last'],
      failover.map((t, r) => {
        const s = [...t].sort((x, y) => x - y);
        return [
          String(r + 1),
          String(s.length),
          String(s[0]),
          String(s[s.length >> 1]),
          String(s[s.length - 1]),
        ];
      }),
    );
  } finally {
    await client?.close();
    await Promise.all(nodes.map((p) => stopNode(p)));
    await db.stop();
  }
}

async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
