/**
 * The cost of interceptors (issue 12's target: at most 3% fewer calls/s with a no-op interceptor and
 * the OpenTelemetry API present without an SDK). Two rxchan servers, each alone in a child, and a client
 * child for each: one bare (no interceptor, `telemetry: false`), one with a no-op interceptor on both
 * sides besides the built-in OpenTelemetry interceptors, no SDK installed (./suite/intercept.ts). Each run measures both in turn, 100 calls in flight on one connection, driven
 * both ways the suite drives rxchan (the tuned driver, and `await ref.add(1, 2)` as users write it),
 * then one call at a time (p50). Ratios are per run. Knobs: the suite's (BENCH_SUITE_RUNS,
 * BENCH_SUITE_MS, BENCH_SUITE_WARM_MS, BENCH_SUITE_IN_FLIGHT).
 */
import type { LatencyRun } from './lib/actors-load.js';
import { GRACE_MS } from './lib/load.js';
import type { SuiteCaller, SuitePeer } from './lib/suite-child.js';
import { printTable } from './lib/table.js';
import { suiteConfig } from './suite/config.js';
import { makeKeys, portOf, spawnCaller, spawnSystem } from './suite/context.js';
import { fmt, formatRatio, pairedRatio } from './suite/report.js';
import type { InFlightResult } from './suite/spec.js';

const VARIANTS = ['bare', 'intercepted'] as const;
type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = {
  bare: 'rxchan, no interceptor, telemetry: false',
  intercepted: 'rxchan, a no-op interceptor on each side and OpenTelemetry (no SDK)',
};

interface Samples {
  tuned: number[];
  user: number[];
  p50: number[];
  /** CPU µs per call of the tuned driver's window, in the client child and in the server child. */
  clientCpu: number[];
  serverCpu: number[];
}

const empty = (): Samples => ({ tuned: [], user: [], p50: [], clientCpu: [], serverCpu: [] });

export async function run(): Promise<void> {
  const config = suiteConfig();
  const keys = await makeKeys();
  const peers: Partial<Record<Variant, SuitePeer>> = {};
  const callers: Partial<Record<Variant, SuiteCaller>> = {};
  try {
    for (const v of VARIANTS) {
      const peer = await spawnSystem('rxchan', keys, 0, v === 'intercepted');
      peers[v] = peer;
      callers[v] = await spawnCaller(
        keys,
        'rxchan',
        portOf(peer, 'rxchan'),
        config.inFlight,
        v === 'intercepted',
      );
    }
    const inFlight = async (v: Variant, op: string, ms: number, into?: Samples) => {
      await peers[v]!.ask('window-begin');
      const r = (await callers[v]!.ask(`${op}:${ms}`, ms + 2 * GRACE_MS)) as InFlightResult;
      const usage = await peers[v]!.ask('window-end');
      into?.clientCpu.push(r.cpuUs / r.calls);
      into?.serverCpu.push(usage.cpuUs / r.total);
      return r.rate;
    };
    const sequential = async (v: Variant, ms: number) =>
      ((await callers[v]!.ask(`sequential:${ms}`, ms + GRACE_MS)) as LatencyRun).p50;
    for (const v of VARIANTS) {
      await inFlight(v, 'in-flight', config.warmMs);
      await inFlight(v, 'in-flight-user', config.warmMs);
      await sequential(v, config.warmMs);
    }
    const samples: Record<Variant, Samples> = { bare: empty(), intercepted: empty() };
    for (let r = 0; r < config.runs; r++) {
      // Alternate which variant goes first, so drift within a run favours neither.
      const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order)
        samples[v].tuned.push(await inFlight(v, 'in-flight', config.windowMs, samples[v]));
      for (const v of order) samples[v].user.push(await inFlight(v, 'in-flight-user', config.windowMs));
      for (const v of order) samples[v].p50.push(await sequential(v, config.windowMs));
    }
    const { bare, intercepted } = samples;
    printTable(
      `interceptors: ${config.inFlight} calls in flight and one at a time, ${config.windowMs} ms windows, median (min–max) of ${config.runs}`,
      [
        'variant',
        'calls/s tuned',
        'client / server CPU µs per call (tuned)',
        'calls/s as users write it',
        'sequential p50 µs',
      ],
      VARIANTS.map((v) => [
        LABEL[v],
        fmt(samples[v].tuned),
        `${fmt(samples[v].clientCpu, 2)} / ${fmt(samples[v].serverCpu, 2)}`,
        fmt(samples[v].user),
        fmt(samples[v].p50),
      ]),
    );
    printTable(
      'intercepted / bare (target: calls/s >= 0.97x)',
      ['figure', 'ratio'],
      [
        ['calls/s, tuned driver', formatRatio(pairedRatio(intercepted.tuned, bare.tuned), 3)],
        ['calls/s, as users write it', formatRatio(pairedRatio(intercepted.user, bare.user), 3)],
        ['sequential p50 (lower is better)', formatRatio(pairedRatio(intercepted.p50, bare.p50), 3)],
        [
          'client CPU per call (lower is better)',
          formatRatio(pairedRatio(intercepted.clientCpu, bare.clientCpu), 3),
        ],
        [
          'server CPU per call (lower is better)',
          formatRatio(pairedRatio(intercepted.serverCpu, bare.serverCpu), 3),
        ],
      ],
    );
  } finally {
    await Promise.all([...Object.values(callers), ...Object.values(peers)].map((c) => c.stop()));
  }
}
