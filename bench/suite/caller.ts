/**
 * A client child of the suite benchmark (scenarios 1 and 2): the client of ONE system, alone in its
 * process, so that system's CPU time per call is its own (with every client in the parent, each paid
 * for the others' heap, timers and JIT state: rxchan's client measured 14.5 µs per call beside the
 * gRPC client and 7–8 µs alone, on the same build).
 *
 * Arguments: the system, then a JSON {@link CallerSpec}. Requests (bench/lib/suite-child.ts):
 *   `sequential:<ms>`  one call at a time for ms: a LatencyRun (../lib/actors-load.ts; p50, p99 µs);
 *   `in-flight:<ms>`   `inFlight` calls always in flight for ms: {@link InFlightResult}.
 * Only run as a child: importing it connects.
 */
import 'reflect-metadata';
import { ActorSystem, Identity } from '../../src/index.js';
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
  close(): Promise<void>;
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
      return { call, close: () => node.close() };
    }
    case 'grpc': {
      const grpc = await GrpcBenchClient.connect(spec.port, cert, spec.serverCertPem);
      return {
        call: async () => {
          if ((await grpc.add(1, 2)) !== 3) throw new Error('grpc Add(1, 2) !== 3');
        },
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
      if (what === 'sequential') return sequential(client.call, window, system);
      if (what === 'in-flight') {
        return deadline(measureInFlight(client.call, spec.inFlight, window), window + GRACE_MS, system);
      }
      throw new Error(`unknown request ${op}`);
    },
  );
}

main();
