/**
 * A client child of the suite benchmark (scenarios 1, 2, 3 and 7): the client of ONE system, alone in its
 * process, so that system's CPU time per call is its own (with every client in the parent, each paid
 * for the others' heap, timers and JIT state: rxchan's client measured 14.5 µs per call beside the
 * gRPC client and 7–8 µs alone, on the same build). rxchan's client runs with the library defaults.
 *
 * Arguments: the system, then a JSON {@link CallerSpec}. Requests (bench/lib/suite-child.ts):
 *   `sequential:<ms>`      one call at a time for ms: a LatencyRun (../lib/actors-load.ts; p50, p99 µs)
 *                          and `cpuUs`, this process's CPU time over it;
 *   `in-flight:<ms>`       `inFlight` calls always in flight for ms, the tuned driver: {@link InFlightResult};
 *   `in-flight-user:<ms>`  rxchan only, the same as users write it: `inFlight` async loops, each
 *                          `await bench.add(1, 2)`, the method looked up on the ref every call;
 *   `seqs:<n>`             one stream of n messages `{ seq }` (scenario 3), checked in order: msg/s;
 *   `range:<n>`            rxchan only: the same from `range(0, n).pipe(map(...))` on the callee;
 *   `burst:<n>`            rxchan only: n calls `add(i, 1)` started at once on one connection
 *                          (scenario 7): {@link BurstResult}.
 * Only run as a child: importing it connects.
 */
import 'reflect-metadata';
import { ActorSystem, Identity, isRpcError, type Ref } from '../../src/index.js';
import type { CallFn } from '../lib/actors-load.js';
import { RawEchoClient, sequential } from '../lib/actors-load.js';
import { GrpcBenchClient } from '../lib/grpc-service.js';
import { LayerClient } from '../lib/layers.js';
import { deadline, GRACE_MS, inFlightWindow } from '../lib/load.js';
import { nowMs } from '../lib/stats.js';
import { serveSuiteCaller } from '../lib/suite-child.js';
import type { Bench } from './actor.js';
import { interceptionOptions } from './intercept.js';
import type { BurstResult, CallerSpec, InFlightResult, Layer, System } from './spec.js';
import { RAW_PAYLOAD } from './spec.js';

/** The two pushed-or-pulled stream sources of scenario 3 on the rxchan side. */
type Source = 'seqs' | 'range';

interface Client {
  /** One call, the tuned way for this system; resolves when its answer arrived. */
  call: CallFn;
  /** Scenario 3: receive one stream of `n` messages `{ seq }` in order; resolves with the count. */
  seqs?(n: number, source: Source): Promise<number>;
  /** rxchan's ref, for the requests only rxchan answers. */
  bench?: Ref<Bench>;
  close(): Promise<void>;
}

/** Receive `n` messages of one rxchan subscription, checking their order; resolves with the count. */
function rxchanSeqs(bench: Ref<Bench>, n: number, source: Source): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let count = 0;
    const subscription = (source === 'range' ? bench.range(n) : bench.seqs(n)).subscribe({
      next: (m) => {
        if (m.seq !== count) {
          subscription.unsubscribe();
          reject(new Error(`rxchan ${source}: got seq ${m.seq}, expected ${count}`));
          return;
        }
        count++;
      },
      error: reject,
      complete: () => resolve(count),
    });
  });
}

/** Messages per second of one stream of `n`, which must deliver exactly `n`. */
async function streamRate(client: Client, n: number, source: Source): Promise<number> {
  if (!client.seqs) throw new Error('this system has no stream scenario');
  const start = nowMs();
  const got = await client.seqs(n, source);
  const seconds = (nowMs() - start) / 1000;
  if (got !== n) throw new Error(`${got} messages arrived, ${n} sent`);
  return n / seconds;
}

function rxchanRef(client: Client): Ref<Bench> {
  if (!client.bench) throw new Error('only the rxchan caller answers this request');
  return client.bench;
}

const checkSum = (sum: unknown): void => {
  if (sum !== 3) throw new Error(`rxchan add(1, 2) gave ${String(sum)}`);
};

async function connect(system: System | Layer, spec: CallerSpec): Promise<Client> {
  const cert = { certPem: spec.clientCertPem, keyPem: spec.clientKeyPem };
  switch (system) {
    case 'rxchan': {
      const node = new ActorSystem({
        identity: Identity.fromSeed(Buffer.from(spec.clientSeed, 'hex')),
        ...interceptionOptions(spec.intercepted),
      });
      const bench = node.ref<Bench>('bench', { host: '127.0.0.1', port: spec.port, key: spec.serverId });
      // The tuned driver: the method looked up once, its Call chained with .then (no async wrapper).
      const add = bench.add;
      const call = () => add(1, 2).then(checkSum);
      await call(); // connected before the first measure
      return { call, bench, seqs: (n, source) => rxchanSeqs(bench, n, source), close: () => node.close() };
    }
    case 'grpc': {
      const grpc = await GrpcBenchClient.connect(spec.port, cert, spec.serverCertPem);
      return {
        call: async () => {
          if ((await grpc.add(1, 2)) !== 3) throw new Error('grpc Add(1, 2) !== 3');
        },
        seqs: (n) => grpc.seqs(n),
        close: async () => grpc.close(),
      };
    }
    case 'mux':
    case 'channel': {
      const identity = Identity.fromSeed(Buffer.from(spec.clientSeed, 'hex'));
      const client = await LayerClient.connect(system, identity, spec.port, spec.serverId);
      await client.call();
      return client;
    }
    case 'raw': {
      const raw = await RawEchoClient.connect(spec.port, cert, RAW_PAYLOAD);
      return { call: raw.call, close: async () => raw.close() };
    }
  }
}

/** `inFlight` workers for `ms`; CPU over the window, and every call completed (see InFlightResult). */
async function measureInFlight(call: CallFn, n: number, ms: number): Promise<InFlightResult> {
  let closed: { calls: number; at: number; cpu: NodeJS.CpuUsage } | undefined;
  const cpu = process.cpuUsage();
  const start = nowMs();
  const total = await inFlightWindow(call, n, ms, 'in flight', (calls) => {
    closed = { calls, at: nowMs(), cpu: process.cpuUsage(cpu) };
  });
  if (!closed) throw new Error('in-flight window never closed');
  return {
    rate: closed.calls / ((closed.at - start) / 1000),
    calls: closed.calls,
    total,
    cpuUs: closed.cpu.user + closed.cpu.system,
  };
}

/**
 * What users write: `n` async loops, each `await bench.add(1, 2)` (the method looked up on the ref every
 * call, the Call awaited as a thenable) until a timer closes the window after `ms`; measured as
 * {@link measureInFlight} measures. Rejects with the first failing call, or after `ms` + GRACE_MS.
 */
async function measureUserLoops(bench: Ref<Bench>, n: number, ms: number): Promise<InFlightResult> {
  let open = true;
  let completed = 0;
  let closed: { calls: number; at: number; cpu: NodeJS.CpuUsage } | undefined;
  const cpu = process.cpuUsage();
  const start = nowMs();
  const timer = setTimeout(() => {
    open = false;
    closed = { calls: completed, at: nowMs(), cpu: process.cpuUsage(cpu) };
  }, ms);
  const loop = async (): Promise<void> => {
    while (open) {
      const sum = await bench.add(1, 2);
      if (sum !== 3) throw new Error(`rxchan add(1, 2) gave ${sum}`);
      completed++;
    }
  };
  try {
    await deadline(Promise.all(Array.from({ length: n }, loop)), ms + GRACE_MS, 'rxchan async loops');
  } finally {
    clearTimeout(timer);
  }
  if (!closed) throw new Error('in-flight window never closed');
  return {
    rate: closed.calls / ((closed.at - start) / 1000),
    calls: closed.calls,
    total: completed,
    cpuUs: closed.cpu.user + closed.cpu.system,
  };
}

/**
 * Scenario 7: `n` calls `add(i, 1)` started in one synchronous loop on one connection, then awaited all;
 * each answer is checked. Never rejects for a failed call: failures are counted by code. Bounded by
 * `limitMs`: the calls still pending then count as failed, 'NO_ANSWER'.
 */
async function burst(bench: Ref<Bench>, n: number, limitMs: number): Promise<BurstResult> {
  const start = nowMs();
  const calls = Array.from({ length: n }, (_, i) =>
    Promise.resolve(bench.add(i, 1)).then(
      (sum) => (sum === i + 1 ? 'ok' : 'WRONG_ANSWER'),
      (err: unknown) => (isRpcError(err) ? err.code : 'NOT_AN_RPC_ERROR'),
    ),
  );
  let outcomes: string[];
  try {
    outcomes = await deadline(Promise.all(calls), limitMs, 'burst');
  } catch {
    outcomes = await Promise.all(calls.map((c) => Promise.race([c, 'NO_ANSWER'])));
  }
  const ms = nowMs() - start;
  const failures: Record<string, number> = {};
  let ok = 0;
  for (const o of outcomes) {
    if (o === 'ok') ok++;
    else failures[o] = (failures[o] ?? 0) + 1;
  }
  return { ok, ms, failures };
}

/** Longest a burst may take before its pending calls count as failed, ms. */
const BURST_LIMIT_MS = 30_000;

function main(): void {
  const [system, json] = process.argv.slice(2) as [System | Layer, string];
  const spec = JSON.parse(json) as CallerSpec;
  serveSuiteCaller(
    () => connect(system, spec),
    async (client, op) => {
      const [what, arg] = op.split(':');
      const x = Number(arg);
      if (!Number.isInteger(x) || x <= 0) throw new Error(`bad request ${op}`);
      switch (what) {
        case 'sequential': {
          const cpu = process.cpuUsage();
          const r = await sequential(client.call, x, system);
          const used = process.cpuUsage(cpu);
          return { ...r, cpuUs: used.user + used.system };
        }
        case 'in-flight':
          return deadline(measureInFlight(client.call, spec.inFlight, x), x + GRACE_MS, system);
        case 'in-flight-user':
          return measureUserLoops(rxchanRef(client), spec.inFlight, x);
        // For streams and bursts the number is a count; the parent bounds the time.
        case 'seqs':
          return streamRate(client, x, 'seqs');
        case 'range':
          return streamRate(client, x, 'range');
        case 'burst':
          return burst(rxchanRef(client), x, BURST_LIMIT_MS);
      }
      throw new Error(`unknown request ${op}`);
    },
  );
}

main();
