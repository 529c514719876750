/**
 * Multiplexer benchmark: our yamux Session against raw TCP on loopback, in one run.
 *
 *  (a) throughput: BENCH_MUX_MIB (512) MiB in 64 KiB writes on one stream vs. one TCP connection, to a sink
 *      that answers with the byte count; target mux/raw >= 85%.
 *  (b) round trips: 64-byte messages echoed on 100 concurrent streams (one in flight each) vs. 100 pipelined
 *      requests on one TCP connection, for BENCH_RPS_MS (2000) ms.
 *
 * The receiving side runs in a child process (./lib/mux-peer.ts) for both transports. Runs alternate raw/mux
 * so drift on a shared machine hits both; each result is the median of BENCH_RUNS (5) runs with min–max,
 * after one shorter warm-up run of each. Beside each, the median CPU time of both processes (./lib/mux-cpu.ts):
 * steadier than wall time on a shared machine, and it shows which side computes and which waits.
 * Mux config overrides: BENCH_MUX (JSON, both sides).
 */
import { spawnPeer } from './lib/child.js';
import { envInt } from './lib/env.js';
import { benchMuxConfig } from './lib/mux-config.js';
import { type Measured, measureCpu } from './lib/mux-cpu.js';
import { roundTripsMux, roundTripsRaw, throughputMux, throughputRaw } from './lib/mux-load.js';
import { formatSummary, percent, summarize } from './lib/stats.js';
import { printTable } from './lib/table.js';

const MiB = 1024 * 1024;
const THROUGHPUT_TARGET = 0.85;

/** Median CPU of each side over `runs`, scaled by `per` (e.g. 1000 / round trips): `a / b`, `-` when unknown. */
function cpuCell(
  runs: readonly Measured<number>[],
  per: (m: Measured<number>) => number,
  digits: number,
): string {
  const self = summarize(runs.map((m) => m.selfMs * per(m))).median.toFixed(digits);
  const child = runs.every((m) => m.childMs !== undefined)
    ? summarize(runs.map((m) => m.childMs! * per(m))).median.toFixed(digits)
    : '-';
  return `${self} / ${child}`;
}

export async function run(): Promise<void> {
  const runs = envInt('BENCH_RUNS', 5, 3);
  const total = envInt('BENCH_MUX_MIB', 512, 1) * MiB;
  const rpsMs = envInt('BENCH_RPS_MS', 2_000, 100);
  const chunk = Buffer.alloc(64 * 1024, 0xa5);
  const concurrency = 100;
  const msgSize = 64;
  const limitMs = 60_000;

  console.log(`mux config overrides: ${JSON.stringify(benchMuxConfig())}; runs: ${runs}; child peer serves`);
  const peer = await spawnPeer(new URL('./lib/mux-peer.js', import.meta.url));
  const p = peer.ports as Record<'rawSink' | 'rawEcho' | 'muxSink' | 'muxEcho', number>;
  try {
    // Warm-up (JIT, socket buffers), not counted.
    await throughputRaw(p.rawSink, Math.min(total, 64 * MiB), chunk, limitMs);
    await throughputMux(p.muxSink, Math.min(total, 64 * MiB), chunk, limitMs);
    const raw: Measured<number>[] = [];
    const mux: Measured<number>[] = [];
    for (let i = 0; i < runs; i++) {
      raw.push(await measureCpu(peer.pid, () => throughputRaw(p.rawSink, total, chunk, limitMs)));
      mux.push(await measureCpu(peer.pid, () => throughputMux(p.muxSink, total, chunk, limitMs)));
    }
    const tRaw = summarize(raw.map((m) => m.value));
    const tMux = summarize(mux.map((m) => m.value));
    const perRun = () => 1;
    printTable(
      `(a) throughput, ${total / MiB} MiB on one stream, 64 KiB writes, MiB/s: median (min–max)`,
      ['transport', 'MiB/s', 'vs raw', 'CPU ms per run, sender / receiver'],
      [
        ['raw TCP', formatSummary(tRaw, 0), '100%', cpuCell(raw, perRun, 0)],
        ['mux, 1 stream', formatSummary(tMux, 0), percent(tMux.median, tRaw.median), cpuCell(mux, perRun, 0)],
      ],
    );
    const met = tMux.median / tRaw.median >= THROUGHPUT_TARGET;
    console.log(`\ntarget mux/raw >= ${THROUGHPUT_TARGET * 100}%: ${met ? 'met' : 'NOT met'}`);

    await roundTripsRaw(p.rawEcho, concurrency, msgSize, Math.min(rpsMs, 500));
    await roundTripsMux(p.muxEcho, concurrency, msgSize, Math.min(rpsMs, 500));
    const rRaw: Measured<number>[] = [];
    const rMux: Measured<number>[] = [];
    for (let i = 0; i < runs; i++) {
      rRaw.push(await measureCpu(peer.pid, () => roundTripsRaw(p.rawEcho, concurrency, msgSize, rpsMs)));
      rMux.push(await measureCpu(peer.pid, () => roundTripsMux(p.muxEcho, concurrency, msgSize, rpsMs)));
    }
    const sRaw = summarize(rRaw.map((m) => m.value));
    const sMux = summarize(rMux.map((m) => m.value));
    // µs per round trip: ms * 1000 / (rate * seconds); the run's short tail after the window is ignored.
    const perTrip = (m: Measured<number>) => 1000 / (m.value * (rpsMs / 1000));
    printTable(
      `(b) round trips/s, ${msgSize}-byte echo, ${concurrency} in flight, ${rpsMs} ms per run: median (min–max)`,
      ['transport', 'round trips/s', 'vs raw', 'CPU µs per round trip, client / server'],
      [
        [`raw TCP, ${concurrency} pipelined`, formatSummary(sRaw, 0), '100%', cpuCell(rRaw, perTrip, 2)],
        [
          `mux, ${concurrency} streams`,
          formatSummary(sMux, 0),
          percent(sMux.median, sRaw.median),
          cpuCell(rMux, perTrip, 2),
        ],
      ],
    );
  } finally {
    await peer.stop();
  }
}
