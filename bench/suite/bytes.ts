/**
 * Scenario 4 of the suite: byte streams, both directions, vs raw TLS 1.3 one-way on a connection of its
 * own (opened before the clock starts, a new one per run). Both sides move the same bytes in 64 KiB
 * writes; MB are 10^6 bytes.
 *
 *  - upload: `bench.sink(readable)`: the client passes a Readable, which travels as a byte stream inside
 *    the call; the handler counts it and answers the count. Raw: the same bytes written to a server that
 *    answers the count. Time runs from the call (first write) to the answer.
 *  - download: `bench.source(n)`: the handler returns a Readable; the client awaits the call and reads
 *    the Readable with `for await`. Raw: the client asks for n bytes and reads the socket with
 *    `for await` until the server ends it. Time runs from the call (the request) to the end of the stream.
 */
import type { Ref } from '../../src/index.js';
import { deadline } from '../lib/load.js';
import { rawDownload, rawOneWay } from '../lib/raw-tls.js';
import { nowMs } from '../lib/stats.js';
import { printTable } from '../lib/table.js';
import { type Bench, byteSource } from './actor.js';
import type { SuiteConfig } from './config.js';
import { type Keys, portOf, rxchanClient, withPeers } from './context.js';
import { type Finding, fmt, formatRatio, pairedRatio } from './report.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
/** Target: rxchan at least this fraction of raw TLS, each direction. */
const TARGET = 0.95;

async function rxchanUpload(
  bench: Ref<Bench>,
  total: number,
  chunk: Buffer,
  limitMs: number,
): Promise<number> {
  const start = nowMs();
  const count = await deadline(bench.sink(byteSource(total, chunk)), limitMs, 'rxchan upload');
  const ms = nowMs() - start;
  if (count !== total) throw new Error(`rxchan sink counted ${count} bytes, ${total} sent`);
  return ms;
}

async function rxchanDownload(bench: Ref<Bench>, total: number, limitMs: number): Promise<number> {
  const read = async (): Promise<number> => {
    const start = nowMs();
    const data = await bench.source(total);
    let got = 0;
    for await (const b of data) got += (b as Buffer).length;
    const ms = nowMs() - start;
    if (got !== total) throw new Error(`rxchan download read ${got} bytes, ${total} asked for`);
    return ms;
  };
  return deadline(read(), limitMs, 'rxchan download');
}

export async function runBytes(config: SuiteConfig, keys: Keys): Promise<Finding[]> {
  const { runs, limitMs } = config;
  const total = config.mib * MiB;
  const chunk = Buffer.alloc(CHUNK, 0xa5);
  const mbps = (ms: number) => total / 1e6 / (ms / 1000);
  return withPeers(keys, ['rxchan', 'raw'], async (peers) => {
    const rx = rxchanClient(keys, portOf(peers.rxchan, 'rxchan'));
    const sinkPort = portOf(peers.raw, 'sink');
    const sourcePort = portOf(peers.raw, 'source');
    const cert = keys.clientCert;
    try {
      const warm = Math.min(total, 64 * MiB);
      await rxchanUpload(rx.bench, warm, chunk, limitMs);
      await rawOneWay(sinkPort, cert, warm, chunk, limitMs);
      await rxchanDownload(rx.bench, warm, limitMs);
      await rawDownload(sourcePort, cert, warm, limitMs);
      const up = { x: [] as number[], y: [] as number[] };
      const down = { x: [] as number[], y: [] as number[] };
      for (let r = 0; r < runs; r++) {
        up.x.push(mbps(await rxchanUpload(rx.bench, total, chunk, limitMs)));
        up.y.push(mbps(await rawOneWay(sinkPort, cert, total, chunk, limitMs)));
        down.x.push(mbps(await rxchanDownload(rx.bench, total, limitMs)));
        down.y.push(mbps(await rawDownload(sourcePort, cert, total, limitMs)));
      }
      const upRatio = pairedRatio(up.x, up.y);
      const downRatio = pairedRatio(down.x, down.y);
      printTable(
        `4. ${config.mib} MiB byte stream each way, 64 KiB writes, MB/s (10^6 B/s), median (min–max) of ${runs}`,
        ['direction', 'rxchan MB/s', 'raw TLS one-way MB/s', 'rxchan / raw'],
        [
          ['upload: the client passes a Readable (sink)', fmt(up.x), fmt(up.y), formatRatio(upRatio)],
          [
            'download: a method returns a Readable, read with for await (source)',
            fmt(down.x),
            fmt(down.y),
            formatRatio(downRatio),
          ],
        ],
      );
      const finding = (direction: string, x: number[], y: number[], ratio: typeof upRatio): Finding => ({
        scenario: 4,
        figure: `${config.mib} MiB byte stream, ${direction}, MB/s`,
        rxchan: fmt(x),
        peer: `raw TLS one-way ${fmt(y)}`,
        ratio: formatRatio(ratio),
        target: `>= ${TARGET * 100}% of raw TLS`,
        met: ratio.median >= TARGET,
      });
      return [
        finding('upload (client passes a Readable)', up.x, up.y, upRatio),
        finding('download (method returns a Readable)', down.x, down.y, downRatio),
      ];
    } finally {
      await rx.system.close();
    }
  });
}
