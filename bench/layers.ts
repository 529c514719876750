/**
 * Where the time of a call goes, layer by layer: 100 requests in flight on one connection (the suite's
 * scenario 2), for each layer under an rxchan call and for the call itself, each server and each client
 * in a child process of its own, over mutual TLS 1.3:
 *
 *   raw TLS echo  32 bytes, length-prefixed, straight on the TLS socket (no multiplexer);
 *   mux           one yamux stream per request, opened with the request, echoed, FIN both ways;
 *   channel       the actor call's records (a DUPLEX stream: CALL, FIN; `{ v }`, FIN);
 *   rxchan        `add(1, 2)` through a ref: the actor layer on top.
 *
 * Prints, per layer: sequential latency (one call at a time: p50 µs and the server's CPU µs per call) and
 * with 100 in flight calls/s and CPU µs per call on each side, and what each layer adds to the one below.
 * Knobs: BENCH_RUNS (5), BENCH_LAYERS_MS (1000), BENCH_SUITE_IN_FLIGHT (100). `run()` is the entry
 * (bench/run.ts, subset `layers`).
 */
import type { LatencyRun } from './lib/actors-load.js';
import { envInt } from './lib/env.js';
import { GRACE_MS } from './lib/load.js';
import { type SuiteCaller, type SuitePeer, spawnSuitePeer } from './lib/suite-child.js';
import { printTable } from './lib/table.js';
import { makeKeys, spawnCaller } from './suite/context.js';
import { fmt, median } from './suite/report.js';
import type { InFlightResult, Layer, PeerSpec } from './suite/spec.js';

type Level = 'raw' | Layer | 'rxchan';
const LEVELS: readonly Level[] = ['raw', 'mux', 'channel', 'rxchan'];
const LABEL: Record<Level, string> = {
  raw: 'raw TLS echo, 32 B',
  mux: 'mux: a stream per request',
  channel: 'channels: DUPLEX stream, CALL + { v }',
  rxchan: 'rxchan add(1, 2)',
};
const PORT: Record<Level, string> = { raw: 'echo', mux: 'mux', channel: 'channel', rxchan: 'rxchan' };

interface Row {
  rate: number[];
  client: number[];
  server: number[];
  p50: number[];
  seqClient: number[];
  seqServer: number[];
}

const row = (): Row => ({ rate: [], client: [], server: [], p50: [], seqClient: [], seqServer: [] });

export async function run(): Promise<void> {
  const runs = envInt('BENCH_RUNS', 5, 1);
  const ms = envInt('BENCH_LAYERS_MS', 1_000, 100);
  const inFlight = envInt('BENCH_SUITE_IN_FLIGHT', 100, 1);
  const keys = await makeKeys();
  const peerSpec: PeerSpec = {
    serverSeed: keys.serverSeed.toString('hex'),
    clientId: keys.client.id,
    serverCertPem: keys.serverCert.certPem,
    serverKeyPem: keys.serverCert.keyPem,
    clientCertPem: keys.clientCert.certPem,
    streams: 0,
  };
  const peers: Partial<Record<Level, SuitePeer>> = {};
  const callers: Partial<Record<Level, SuiteCaller>> = {};
  try {
    for (const level of LEVELS) {
      const peer = await spawnSuitePeer(new URL('./suite/peer.js', import.meta.url), [
        level,
        JSON.stringify(peerSpec),
      ]);
      peers[level] = peer;
      const port = peer.ports[PORT[level]];
      if (port === undefined) throw new Error(`${level} peer has no ${PORT[level]} port`);
      callers[level] = await spawnCaller(keys, level, port, inFlight);
    }
    const rows: Record<Level, Row> = { raw: row(), mux: row(), channel: row(), rxchan: row() };
    const measure = async (level: Level, window: number, into?: Row) => {
      const peer = peers[level]!;
      await peer.ask('window-begin');
      const r = (await callers[level]!.ask(`in-flight:${window}`, window + GRACE_MS)) as InFlightResult;
      const usage = await peer.ask('window-end');
      into?.rate.push(r.rate);
      into?.client.push(r.cpuUs / r.calls);
      into?.server.push(usage.cpuUs / r.total);
    };
    const sequential = async (level: Level, window: number, into?: Row) => {
      const peer = peers[level]!;
      await peer.ask('window-begin');
      const r = (await callers[level]!.ask(`sequential:${window}`, window + GRACE_MS)) as LatencyRun & {
        cpuUs: number;
      };
      const usage = await peer.ask('window-end');
      into?.p50.push(r.p50);
      into?.seqClient.push(r.cpuUs / r.calls);
      into?.seqServer.push(usage.cpuUs / r.calls);
    };
    for (const level of LEVELS) {
      await sequential(level, 1_000); // warm-up
      await measure(level, 2_000);
    }
    for (let i = 0; i < runs; i++) {
      for (const level of LEVELS) await sequential(level, ms, rows[level]);
      for (const level of LEVELS) await measure(level, ms, rows[level]);
    }
    printTable(
      `layers: one call at a time, ${ms} ms per run, median (min–max) of ${runs}`,
      ['layer', 'p50 µs', 'client CPU µs/call', 'server CPU µs/call', 'p50 / raw', 'adds p50 µs'],
      LEVELS.map((level, i) => {
        const r = rows[level];
        const below = i === 0 ? undefined : rows[LEVELS[i - 1]!];
        return [
          LABEL[level],
          fmt(r.p50),
          fmt(r.seqClient, 1),
          fmt(r.seqServer, 1),
          `${(median(r.p50) / median(rows.raw.p50)).toFixed(2)}x`,
          below ? `+${(median(r.p50) - median(below.p50)).toFixed(0)}` : '',
        ];
      }),
    );
    printTable(
      `layers: ${inFlight} calls in flight on one connection, ${ms} ms per run, median (min–max) of ${runs}`,
      ['layer', 'calls/s', 'client CPU µs/call', 'server CPU µs/call', 'adds client / server µs'],
      LEVELS.map((level, i) => {
        const below = i === 0 ? undefined : rows[LEVELS[i - 1]!];
        const row = rows[level];
        const added = below
          ? `+${(median(row.client) - median(below.client)).toFixed(1)} / +${(median(row.server) - median(below.server)).toFixed(1)}`
          : '';
        return [LABEL[level], fmt(row.rate), fmt(row.client, 1), fmt(row.server, 1), added];
      }),
    );
  } finally {
    await Promise.all([...Object.values(callers), ...Object.values(peers)].map((c) => c.stop()));
  }
}
