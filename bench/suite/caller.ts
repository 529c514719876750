/**
 * A client child of the suite benchmark (scenarios 1, 2 and 3): the client of ONE system, alone in its
 * process, so that system's CPU time per call is its own (with every client in the parent, each paid
 * for the others' heap, timers and JIT state: rxchan's client measured 14.5 µs per call beside the
 * gRPC client and 7–8 µs alone, on the same build).
 *
 * Arguments: the system, then a JSON {@link CallerSpec}. Requests (bench/lib/suite-child.ts):
 *   `sequential:<ms>`  one call at a time for ms: a LatencyRun (../lib/actors-load.ts; p50, p99 µs)
 *                      and `cpuUs`, this process's CPU time over it;
 *   `in-flight:<ms>`   `inFlight` calls always in flight for ms: {@link InFlightResult};
 *   `seqs:<n>`         one stream of n messages `{ seq }` (scenario 3), checked in order: msg/s;
 *   `seqs-pushed:<n>`  the same from rxchan's push (Observable) source.
 * Only run as a child: importing it connects.
 */
import 'reflect-metadata';
import { ActorSystem, Identity, type Ref } from '../../src/index.js';
import type { CallFn } from '../lib/actors-load.js';
import { RawEchoClient, sequential } from '../lib/actors-load.js';
import { GrpcBenchClient } from '../lib/grpc-service.js';
import { LayerClient } from '../lib/layers.js';
import { deadline, GRACE_MS, inFlightWindow } from '../lib/load.js';
import { nowMs } from '../lib/stats.js';
import { serveSuiteCaller } from '../lib/suite-child.js';
import type { Bench } from './actor.js';
import type { CallerSpec, InFlightResult, Layer, System } from './spec.js';
import { RAW_PAYLOAD } from './spec.js';

interface Client {
  call: CallFn;
  /** Scenario 3: receive one stream of `n` messages `{ seq }` in order; resolves with the count. */
  seqs?(n: number, pushed: boolean): Promise<number>;
  close(): Promise<void>;
}

/** Receive `n` messages of one rxchan subscription, checking their order; resolves with the count. */
function rxchanSeqs(bench: Ref<Bench>, n: number, pushed: boolean): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let count = 0;
    const subscription = (pushed ? bench.seqsPushed(n) : bench.seqs(n)).subscribe({
      next: (m) => {
        if (m.seq !== count) {
          subscription.unsubscribe();
          reject(new Error(`rxchan seqs: got seq ${m.seq}, expected ${count}`));
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
async function streamRate(client: Client, n: number, pushed: boolean): Promise<number> {
  if (!client.seqs) throw new Error('this system has no stream scenario');
  const start = nowMs();
  const got = await client.seqs(n, pushed);
  const seconds = (nowMs() - start) / 1000;
  if (got !== n) throw new Error(`${got} messages arrived, ${n} sent`);
  return n / seconds;
}

async function connect(system: System | Layer, spec: CallerSpec): Promise<Client> {
  const cert = { certPem: spec.clientCertPem, keyPem: spec.clientKeyPem };
  switch (system) {
    case 'rxchan': {
      const node = new ActorSystem({ identity: Identity.fromSeed(Buffer.from(spec.clientSeed, 'hex')) });
      const bench = node.ref<Bench>('bench', { host: '127.0.0.1', port: spec.port, key: spec.serverId });
      const call = async () => {
        if ((await bench.add(1, 2)) !== 3) throw new Error('rxchan add(1, 2) !== 3');
      };
      await call(); // connected before the first measure
      return { call, seqs: (n, pushed) => rxchanSeqs(bench, n, pushed), close: () => node.close() };
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

function main(): void {
  const [system, json] = process.argv.slice(2) as [System | Layer, string];
  const spec = JSON.parse(json) as CallerSpec;
  serveSuiteCaller(
    () => connect(system, spec),
    async (client, op) => {
      const [what, ms] = op.split(':');
      const window = Number(ms);
      if (!Number.isInteger(window) || window <= 0) throw new Error(`bad request ${op}`);
      if (what === 'sequential') {
        const cpu = process.cpuUsage();
        const r = await sequential(client.call, window, system);
        const used = process.cpuUsage(cpu);
        return { ...r, cpuUs: used.user + used.system };
      }
      if (what === 'in-flight') {
        return deadline(measureInFlight(client.call, spec.inFlight, window), window + GRACE_MS, system);
      }
      // For streams the number is a message count; the parent bounds the time.
      if (what === 'seqs') return streamRate(client, window, false);
      if (what === 'seqs-pushed') return streamRate(client, window, true);
      throw new Error(`unknown request ${op}`);
    },
  );
}

main();
