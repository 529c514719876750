/**
 * Scenarios 1 and 2 of the suite: request/reply on one connection, rxchan `add(1, 2)` through a typed
 * ref vs @grpc/grpc-js unary `Add([1, 2])` vs a raw TLS 1.3 length-prefixed echo of 32 bytes. Each
 * server runs alone in its own child, and so does each client (./caller.ts): this process only
 * coordinates, so no system's client pays for another's heap or JIT state.
 *
 *  1. sequential: one call at a time for a window; p50 and p99 latency, µs;
 *  2. `inFlight` (100) calls always in flight on one connection: calls per second, CPU µs per call in
 *     the client child (over the window) and in the server child (from before the first call to after
 *     the last, divided by every call completed, the ones in flight at the window's end included), and
 *     the server's peak RSS over the window (for scenario 6's RSS target).
 */
import type { LatencyRun } from '../lib/actors-load.js';
import { GRACE_MS } from '../lib/load.js';
import type { SuiteCaller } from '../lib/suite-child.js';
import { printTable } from '../lib/table.js';
import type { SuiteConfig } from './config.js';
import { type Keys, portOf, spawnCaller, withPeers } from './context.js';
import { type Finding, fmt, formatRatio, median, pairedRatio } from './report.js';
import { type InFlightResult, RAW_PAYLOAD, type System } from './spec.js';

const MiB = 1024 * 1024;
const SYSTEMS = ['rxchan', 'grpc', 'raw'] as const satisfies readonly System[];
const LABEL: Record<System, string> = {
  rxchan: 'rxchan add(1, 2)',
  grpc: 'grpc-js unary Add',
  raw: `raw TLS echo, ${RAW_PAYLOAD} B`,
};
/** The port each system's server reports (bench/suite/peer.ts). */
const PORT_NAME: Record<System, string> = { rxchan: 'rxchan', grpc: 'grpc', raw: 'echo' };

interface Samples {
  p50: number[];
  p99: number[];
  rate: number[];
  clientCpu: number[];
  serverCpu: number[];
  peakRss: number[];
}

const empty = (): Samples => ({ p50: [], p99: [], rate: [], clientCpu: [], serverCpu: [], peakRss: [] });

export async function runCalls(config: SuiteConfig, keys: Keys): Promise<Finding[]> {
  const latency = config.scenarios.includes(1);
  const load = config.scenarios.includes(2);
  const { windowMs: ms, inFlight, runs } = config;
  return withPeers(keys, SYSTEMS, async (peers) => {
    const callers: Partial<Record<System, SuiteCaller>> = {};
    try {
      for (const s of SYSTEMS) {
        callers[s] = await spawnCaller(keys, s, portOf(peers[s], PORT_NAME[s]), inFlight);
      }
      const measureInFlight = async (s: System, window: number, into: Samples) => {
        const server = peers[s]!;
        await server.ask('window-begin');
        const r = (await callers[s]!.ask(`in-flight:${window}`, window + GRACE_MS)) as InFlightResult;
        const usage = await server.ask('window-end');
        into.rate.push(r.rate);
        into.clientCpu.push(r.cpuUs / r.calls);
        into.serverCpu.push(usage.cpuUs / r.total);
        into.peakRss.push(usage.peakRss / MiB);
      };
      const measureSequential = async (s: System, window: number, into: Samples) => {
        const r = (await callers[s]!.ask(`sequential:${window}`, window + GRACE_MS)) as LatencyRun;
        into.p50.push(r.p50);
        into.p99.push(r.p99);
      };

      // Warm-up (connections, JIT, socket buffers), not counted.
      const warm = config.warmMs;
      for (const s of SYSTEMS) {
        await measureSequential(s, warm, empty());
        await measureInFlight(s, warm, empty());
      }
      const samples: Record<System, Samples> = { rxchan: empty(), grpc: empty(), raw: empty() };
      for (let r = 0; r < runs; r++) {
        if (latency) for (const s of SYSTEMS) await measureSequential(s, ms, samples[s]);
        if (load) for (const s of SYSTEMS) await measureInFlight(s, ms, samples[s]);
      }
      const findings: Finding[] = [];
      if (latency) findings.push(...reportLatency(samples, ms, runs));
      if (load) findings.push(...reportLoad(samples, ms, runs, inFlight));
      return findings;
    } finally {
      await Promise.all(Object.values(callers).map((c) => c.stop()));
    }
  });
}

function reportLatency(x: Record<System, Samples>, ms: number, runs: number): Finding[] {
  const rx = x.rxchan;
  printTable(
    `1. sequential request/reply, one call at a time, ${ms} ms per run, median (min–max) of ${runs}`,
    ['system', 'p50 µs', 'p99 µs', 'rxchan p50 / this', 'rxchan p99 / this'],
    SYSTEMS.map((s) => [
      LABEL[s],
      fmt(x[s].p50),
      fmt(x[s].p99),
      formatRatio(pairedRatio(rx.p50, x[s].p50)),
      formatRatio(pairedRatio(rx.p99, x[s].p99)),
    ]),
  );
  const vsRaw = pairedRatio(rx.p50, x.raw.p50);
  return [
    {
      scenario: 1,
      figure: 'sequential add(1, 2) p50, µs',
      rxchan: fmt(rx.p50),
      peer: `raw TLS echo ${fmt(x.raw.p50)}`,
      ratio: formatRatio(vsRaw),
      target: '<= 1.5x raw TLS echo',
      met: vsRaw.median <= 1.5,
    },
    {
      scenario: 1,
      figure: 'sequential add(1, 2) p50, µs',
      rxchan: fmt(rx.p50),
      peer: `grpc-js unary ${fmt(x.grpc.p50)}`,
      ratio: formatRatio(pairedRatio(rx.p50, x.grpc.p50)),
      target: '',
    },
    {
      scenario: 1,
      figure: 'sequential add(1, 2) p99, µs',
      rxchan: fmt(rx.p99),
      peer: `raw TLS echo ${fmt(x.raw.p99)}`,
      ratio: formatRatio(pairedRatio(rx.p99, x.raw.p99)),
      target: '',
    },
  ];
}

function reportLoad(x: Record<System, Samples>, ms: number, runs: number, n: number): Finding[] {
  const rx = x.rxchan;
  printTable(
    `2. ${n} calls in flight on one connection, ${ms} ms per run, median (min–max) of ${runs}`,
    [
      'system',
      'calls/s',
      'client CPU µs/call',
      'server CPU µs/call',
      'server peak RSS MiB',
      'rxchan calls/s / this',
    ],
    SYSTEMS.map((s) => [
      LABEL[s],
      fmt(x[s].rate),
      fmt(x[s].clientCpu, 1),
      fmt(x[s].serverCpu, 1),
      fmt(x[s].peakRss, 1),
      formatRatio(pairedRatio(rx.rate, x[s].rate)),
    ]),
  );
  const vsGrpc = pairedRatio(rx.rate, x.grpc.rate);
  const rssOver = rx.peakRss.map((v, i) => v - x.raw.peakRss[i]!);
  return [
    {
      scenario: 2,
      figure: `calls/s, ${n} in flight`,
      rxchan: fmt(rx.rate),
      peer: '',
      ratio: '',
      target: '>= 250,000 calls/s',
      met: median(rx.rate) >= 250_000,
    },
    {
      scenario: 2,
      figure: `calls/s, ${n} in flight`,
      rxchan: fmt(rx.rate),
      peer: `grpc-js unary ${fmt(x.grpc.rate)}`,
      ratio: formatRatio(vsGrpc),
      target: '>= 40x grpc-js',
      met: vsGrpc.median >= 40,
    },
    {
      scenario: 2,
      figure: `calls/s, ${n} in flight`,
      rxchan: fmt(rx.rate),
      peer: `raw TLS echo ${fmt(x.raw.rate)}`,
      ratio: formatRatio(pairedRatio(rx.rate, x.raw.rate)),
      target: '',
    },
    {
      scenario: 2,
      figure: 'client CPU µs per call',
      rxchan: fmt(rx.clientCpu, 1),
      peer: `grpc-js ${fmt(x.grpc.clientCpu, 1)}; raw ${fmt(x.raw.clientCpu, 1)}`,
      ratio: formatRatio(pairedRatio(rx.clientCpu, x.grpc.clientCpu)),
      target: '',
    },
    {
      scenario: 2,
      figure: 'server CPU µs per call',
      rxchan: fmt(rx.serverCpu, 1),
      peer: `grpc-js ${fmt(x.grpc.serverCpu, 1)}; raw ${fmt(x.raw.serverCpu, 1)}`,
      ratio: formatRatio(pairedRatio(rx.serverCpu, x.grpc.serverCpu)),
      target: '',
    },
    {
      scenario: 6,
      figure: `server peak RSS during (2), MiB`,
      rxchan: fmt(rx.peakRss, 1),
      peer: `raw TLS echo ${fmt(x.raw.peakRss, 1)}`,
      ratio: `${fmt(rssOver, 1)} MiB above`,
      target: 'within 30 MiB of raw',
      met: median(rssOver) <= 30,
    },
  ];
}
