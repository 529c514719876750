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
 *     the server's peak RSS over the window (for scenario 6's RSS target). rxchan is driven two ways,
 *     both judged: the tuned driver (the method looked up once, `add(1, 2).then(check)`, as the other
 *     systems' drivers) and as users write it (100 async loops, each `await ref.add(1, 2)`).
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
/** A row of scenario 2: a system, or rxchan driven as users write it. */
type Row = System | 'user';
const ROWS = ['rxchan', 'user', 'grpc', 'raw'] as const satisfies readonly Row[];
const LABEL: Record<Row, string> = {
  rxchan: 'rxchan add(1, 2), tuned driver',
  user: 'rxchan, as users write it: await ref.add(1, 2)',
  grpc: 'grpc-js unary Add',
  raw: `raw TLS echo, ${RAW_PAYLOAD} B`,
};
/** The system (its server and client children) and the client request of each row of scenario 2. */
const DRIVE: Record<Row, { system: System; op: string }> = {
  rxchan: { system: 'rxchan', op: 'in-flight' },
  user: { system: 'rxchan', op: 'in-flight-user' },
  grpc: { system: 'grpc', op: 'in-flight' },
  raw: { system: 'raw', op: 'in-flight' },
};
/** Targets of issue 10 (scenario 2's absolute and raw-relative ones apply to both rxchan rows). */
const TARGET = { p50VsRaw: 1.3, callsPerS: 250_000, vsRaw: 0.4, vsGrpc: 40 };
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
      const measureInFlight = async (row: Row, window: number, into: Samples) => {
        const { system: s, op } = DRIVE[row];
        const server = peers[s]!;
        await server.ask('window-begin');
        const r = (await callers[s]!.ask(`${op}:${window}`, window + 2 * GRACE_MS)) as InFlightResult;
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
      for (const s of SYSTEMS) await measureSequential(s, warm, empty());
      for (const row of ROWS) await measureInFlight(row, warm, empty());
      const samples: Record<Row, Samples> = { rxchan: empty(), user: empty(), grpc: empty(), raw: empty() };
      for (let r = 0; r < runs; r++) {
        if (latency) for (const s of SYSTEMS) await measureSequential(s, ms, samples[s]);
        if (load) for (const row of ROWS) await measureInFlight(row, ms, samples[row]);
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

function reportLatency(x: Record<Row, Samples>, ms: number, runs: number): Finding[] {
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
      target: `<= ${TARGET.p50VsRaw}x raw TLS echo`,
      met: vsRaw.median <= TARGET.p50VsRaw,
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

function reportLoad(x: Record<Row, Samples>, ms: number, runs: number, n: number): Finding[] {
  const rx = x.rxchan;
  printTable(
    `2. ${n} calls in flight on one connection, ${ms} ms per run, median (min–max) of ${runs}`,
    [
      'system',
      'calls/s',
      'client CPU µs/call',
      'server CPU µs/call',
      'server peak RSS MiB',
      'rxchan tuned calls/s / this',
    ],
    ROWS.map((row) => [
      LABEL[row],
      fmt(x[row].rate),
      fmt(x[row].clientCpu, 1),
      fmt(x[row].serverCpu, 1),
      fmt(x[row].peakRss, 1),
      formatRatio(pairedRatio(rx.rate, x[row].rate)),
    ]),
  );
  const rssOver = rx.peakRss.map((v, i) => v - x.raw.peakRss[i]!);
  const judged = (row: 'rxchan' | 'user', driver: string): Finding[] => {
    const rate = x[row].rate;
    const vsRaw = pairedRatio(rate, x.raw.rate);
    const figure = `calls/s, ${n} in flight, ${driver}`;
    return [
      {
        scenario: 2,
        figure,
        rxchan: fmt(rate),
        peer: '',
        ratio: '',
        target: `>= ${TARGET.callsPerS.toLocaleString('en-US')} calls/s`,
        met: median(rate) >= TARGET.callsPerS,
      },
      {
        scenario: 2,
        figure,
        rxchan: fmt(rate),
        peer: `raw TLS echo ${fmt(x.raw.rate)}`,
        ratio: formatRatio(vsRaw),
        target: `>= ${TARGET.vsRaw}x raw TLS echo`,
        met: vsRaw.median >= TARGET.vsRaw,
      },
    ];
  };
  const vsGrpc = pairedRatio(rx.rate, x.grpc.rate);
  return [
    ...judged('rxchan', 'tuned driver'),
    ...judged('user', 'as users write it (await ref.add)'),
    {
      scenario: 2,
      figure: `calls/s, ${n} in flight, tuned driver`,
      rxchan: fmt(rx.rate),
      peer: `grpc-js unary ${fmt(x.grpc.rate)}`,
      ratio: formatRatio(vsGrpc),
      target: `>= ${TARGET.vsGrpc}x grpc-js (older target)`,
      met: vsGrpc.median >= TARGET.vsGrpc,
    },
    {
      scenario: 2,
      figure: 'client CPU µs per call, tuned driver',
      rxchan: fmt(rx.clientCpu, 1),
      peer: `grpc-js ${fmt(x.grpc.clientCpu, 1)}; raw ${fmt(x.raw.clientCpu, 1)}`,
      ratio: `${formatRatio(pairedRatio(rx.clientCpu, x.grpc.clientCpu))} grpc-js; ${formatRatio(pairedRatio(rx.clientCpu, x.raw.clientCpu))} raw`,
      target: '',
    },
    {
      scenario: 2,
      figure: 'server CPU µs per call, tuned driver',
      rxchan: fmt(rx.serverCpu, 1),
      peer: `grpc-js ${fmt(x.grpc.serverCpu, 1)}; raw ${fmt(x.raw.serverCpu, 1)}`,
      ratio: `${formatRatio(pairedRatio(rx.serverCpu, x.grpc.serverCpu))} grpc-js; ${formatRatio(pairedRatio(rx.serverCpu, x.raw.serverCpu))} raw`,
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
