/**
 * Scenario 4 of the suite: a byte stream attached to a call. rxchan: `bench.sink(readable)` (the
 * Readable travels as a byte stream inside the call; the handler counts it and answers the count) vs
 * raw TLS 1.3 one-way (the same bytes written on one connection to a server that answers the count).
 * Both send 64 KiB chunks; time runs from the call (first write) to the answer. MB are 10^6 bytes.
 */
import { Readable } from 'node:stream';
import type { Ref } from '../../src/index.js';
import { deadline } from '../lib/load.js';
import { rawOneWay } from '../lib/raw-tls.js';
import { nowMs } from '../lib/stats.js';
import { printTable } from '../lib/table.js';
import type { Bench } from './actor.js';
import type { SuiteConfig } from './config.js';
import { type Keys, portOf, rxchanClient, withPeers } from './context.js';
import { type Finding, fmt, formatRatio, pairedRatio } from './report.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** `total` bytes as a Readable of `chunk`s (the same buffer each time: the cost is the transport's). */
function source(total: number, chunk: Buffer): Readable {
  let sent = 0;
  return new Readable({
    read() {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!this.push(n === chunk.length ? chunk : chunk.subarray(0, n))) return;
      }
      this.push(null);
    },
  });
}

async function rxchanOneWay(
  bench: Ref<Bench>,
  total: number,
  chunk: Buffer,
  limitMs: number,
): Promise<number> {
  const start = nowMs();
  const count = await deadline(bench.sink(source(total, chunk)), limitMs, 'rxchan byte stream');
  const ms = nowMs() - start;
  if (count !== total) throw new Error(`rxchan sink counted ${count} bytes, ${total} sent`);
  return ms;
}

export async function runBytes(config: SuiteConfig, keys: Keys): Promise<Finding[]> {
  const { runs, limitMs } = config;
  const total = config.mib * MiB;
  const chunk = Buffer.alloc(CHUNK, 0xa5);
  const mbps = (ms: number) => total / 1e6 / (ms / 1000);
  return withPeers(keys, ['rxchan', 'raw'], async (peers) => {
    const rx = rxchanClient(keys, portOf(peers.rxchan, 'rxchan'));
    const sinkPort = portOf(peers.raw, 'sink');
    try {
      const warm = Math.min(total, 64 * MiB);
      await rxchanOneWay(rx.bench, warm, chunk, limitMs);
      await rawOneWay(sinkPort, keys.clientCert, warm, chunk, limitMs);
      const x: number[] = [];
      const y: number[] = [];
      for (let r = 0; r < runs; r++) {
        x.push(mbps(await rxchanOneWay(rx.bench, total, chunk, limitMs)));
        y.push(mbps(await rawOneWay(sinkPort, keys.clientCert, total, chunk, limitMs)));
      }
      const ratio = pairedRatio(x, y);
      printTable(
        `4. ${config.mib} MiB byte stream, 64 KiB writes, MB/s (10^6 B/s), median (min–max) of ${runs}`,
        ['system', 'MB/s', 'rxchan / this'],
        [
          ['rxchan, byte stream attached to a call', fmt(x), formatRatio(pairedRatio(x, x))],
          ['raw TLS one-way (new connection per run)', fmt(y), formatRatio(ratio)],
        ],
      );
      return [
        {
          scenario: 4,
          figure: `${config.mib} MiB byte stream, MB/s`,
          rxchan: fmt(x),
          peer: `raw TLS one-way ${fmt(y)}`,
          ratio: formatRatio(ratio),
          target: '>= 90% of raw TLS',
          met: ratio.median >= 0.9,
        },
      ];
    } finally {
      await rx.system.close();
    }
  });
}
