/**
 * Actors benchmark: the cost of an rxchan call against the least an RPC over mutual TLS 1.3 can do, in
 * one run. Both servers run in a child process (./lib/actors-peer.ts); the client is this process.
 *
 *  - rxchan: `calc.add(1, 2)` through a typed ref (MessagePack call message, a reply channel per call,
 *    yamux, mutual TLS 1.3 with both keys checked), on one connection;
 *  - raw: a 32-byte payload in a length-prefixed frame, echoed by a node:tls server (mutual TLS 1.3,
 *    nothing checked), on one connection.
 *
 * Measures: sequential latency (p50 / p99, µs) with one call at a time, and calls per second with 100
 * in flight. Each figure is the median (min–max) over BENCH_RUNS (3) runs of BENCH_ACTORS_MS (1500) ms
 * per measure, after a warm-up; the two systems alternate within each run so drift hits both alike.
 * Bounded: about 20 s with the defaults (each driver gives up 10 s after its window).
 */
import { randomBytes } from 'node:crypto';
import { ActorSystem } from '../src/actors/index.js';
import { Identity, makeCertificate } from '../src/auth/index.js';
import { type CallFn, inFlight, type LatencyRun, RawEchoClient, sequential } from './lib/actors-load.js';
import type { Calc } from './lib/actors-peer.js';
import { spawnPeer } from './lib/child.js';
import { envInt } from './lib/env.js';
import { formatSummary, percent, type Summary, summarize } from './lib/stats.js';
import { printTable } from './lib/table.js';

const IN_FLIGHT = 100;
const RAW_PAYLOAD = 32;

interface Samples {
  p50: number[];
  p99: number[];
  seqRate: number[];
  rate: number[];
}

const empty = (): Samples => ({ p50: [], p99: [], seqRate: [], rate: [] });

async function measure(call: CallFn, ms: number, what: string, into: Samples): Promise<void> {
  const seq: LatencyRun = await sequential(call, ms, what);
  into.p50.push(seq.p50);
  into.p99.push(seq.p99);
  into.seqRate.push(seq.rate);
  into.rate.push(await inFlight(call, IN_FLIGHT, ms, what));
}

export async function run(): Promise<void> {
  const runs = envInt('BENCH_RUNS', 3, 3);
  const ms = envInt('BENCH_ACTORS_MS', 1_500, 200);
  const serverSeed = randomBytes(32); // handed to the child, which serves as this identity
  const serverId = Identity.fromSeed(serverSeed);
  const clientId = Identity.generate();
  const peer = await spawnPeer(new URL('./lib/actors-peer.js', import.meta.url), [
    serverSeed.toString('hex'),
    clientId.id,
  ]);
  const ports = peer.ports as Record<'rxchan' | 'raw', number>;
  const client = new ActorSystem({ identity: clientId });
  let raw: RawEchoClient | undefined;
  try {
    const calc = client.ref<Calc>('calc', { host: '127.0.0.1', port: ports.rxchan, key: serverId.id });
    const rxCall: CallFn = async () => {
      if ((await calc.add(1, 2)) !== 3) throw new Error('add(1, 2) !== 3');
    };
    raw = await RawEchoClient.connect(ports.raw, await makeCertificate(clientId), RAW_PAYLOAD);
    const rawCall = raw.call;

    // Warm-up (connection, JIT, socket buffers), not counted.
    const warm = Math.min(ms, 500);
    await measure(rawCall, warm, 'raw warm-up', empty());
    await measure(rxCall, warm, 'rxchan warm-up', empty());

    const r = empty();
    const x = empty();
    for (let i = 0; i < runs; i++) {
      await measure(rawCall, ms, 'raw', r);
      await measure(rxCall, ms, 'rxchan', x);
    }
    const s = (a: number[]): Summary => summarize(a);
    const times = (rx: Summary, base: Summary) => `${(rx.median / base.median).toFixed(1)}x`;
    const rows: string[][] = [
      [
        'sequential latency p50, µs',
        formatSummary(s(r.p50), 0),
        formatSummary(s(x.p50), 0),
        times(s(x.p50), s(r.p50)),
      ],
      [
        'sequential latency p99, µs',
        formatSummary(s(r.p99), 0),
        formatSummary(s(x.p99), 0),
        times(s(x.p99), s(r.p99)),
      ],
      [
        'sequential calls/s',
        formatSummary(s(r.seqRate), 0),
        formatSummary(s(x.seqRate), 0),
        percent(s(x.seqRate).median, s(r.seqRate).median),
      ],
      [
        `calls/s, ${IN_FLIGHT} in flight, 1 connection`,
        formatSummary(s(r.rate), 0),
        formatSummary(s(x.rate), 0),
        percent(s(x.rate).median, s(r.rate).median),
      ],
    ];
    printTable(
      `add(1, 2) vs raw TLS 1.3 echo (${raw.frameBytes}-byte frames), ${ms} ms per measure, median (min–max) of ${runs}`,
      ['measure', 'raw TLS echo', 'rxchan add(1, 2)', 'rxchan vs raw'],
      rows,
    );
    console.log(
      '\n(latency: rxchan / raw, lower is better; calls/s: rxchan as a share of raw, higher is better)',
    );
  } finally {
    raw?.close();
    await client.close();
    await peer.stop();
  }
}
