/**
 * Scenario 6 of the suite: memory per idle stream. The client opens `streams` (10,000) subscriptions to
 * `bench.idle()` (an Observable that never emits) on one connection and waits until the server counts
 * them all in progress; the server (its own child, run with --expose-gc) reports its memory after a full
 * GC before and after. Per stream = delta / streams, for the heap (V8 heapUsed + external, which holds
 * Buffers) and for RSS. Each run closes them all and waits for the server to count none before the next.
 * Limits raised on both ends so one connection may hold that many calls (spec.ts, streamLimits).
 */
import type { Subscription } from 'rxjs';
import type { MemoryUsage, SuitePeer } from '../lib/suite-child.js';
import { waitFor } from '../lib/suite-load.js';
import { printTable } from '../lib/table.js';
import type { SuiteConfig } from './config.js';
import { type Keys, portOf, rxchanClient, withPeers } from './context.js';
import { type Finding, fmt, median } from './report.js';

const KiB = 1024;
/**
 * Subscriptions opened at once before waiting for the server to count them: all of them, in one burst
 * (the reply streams' SYNs wait in the client's channel layer until their call messages can follow, so
 * the server never holds more than maxUnclaimedStreams unnamed streams; see PROTOCOL.md 4.3).
 */
const BATCH = Number.POSITIVE_INFINITY;

/** Calls the server has in progress. */
async function served(peer: SuitePeer): Promise<number> {
  return (await peer.ask('stats')).servedCalls ?? Number.NaN;
}

export async function runIdle(config: SuiteConfig, keys: Keys): Promise<Finding[]> {
  const { runs, streams, limitMs } = config;
  return withPeers(
    keys,
    ['rxchan'],
    async (peers) => {
      const peer = peers.rxchan!;
      const rx = rxchanClient(keys, portOf(peer, 'rxchan'), streams);
      let failure: unknown;
      let open: Subscription[] = [];
      const openAll = async (n: number): Promise<void> => {
        while (open.length < n) {
          const target = Math.min(n, open.length + BATCH);
          while (open.length < target) {
            open.push(
              rx.bench.idle().subscribe({
                error: (err: unknown) => {
                  failure ??= err;
                },
              }),
            );
          }
          await waitFor(
            () => served(peer),
            (v) => v >= target || failure !== undefined,
            limitMs,
            `server holding ${target} streams`,
            5,
          );
          if (failure) throw failure;
        }
      };
      const closeAll = async (): Promise<void> => {
        for (const s of open) s.unsubscribe();
        open = [];
        await waitFor(
          () => served(peer),
          (v) => v === 0,
          limitMs,
          'server releasing every stream',
        );
      };
      try {
        await rx.bench.add(1, 2); // connect
        // Warm-up: the code paths, the mailbox channel and the connection's own buffers exist already.
        await openAll(Math.min(streams, 100));
        await closeAll();
        const heap: number[] = [];
        const rss: number[] = [];
        for (let r = 0; r < runs; r++) {
          const before: MemoryUsage = await peer.ask('memory', limitMs);
          await openAll(streams);
          const after: MemoryUsage = await peer.ask('memory', limitMs);
          heap.push((after.heapUsed + after.external - (before.heapUsed + before.external)) / streams);
          rss.push((after.rss - before.rss) / streams);
          await closeAll();
        }
        const heapKiB = heap.map((b) => b / KiB);
        const rssKiB = rss.map((b) => b / KiB);
        printTable(
          `6. ${streams.toLocaleString('en-US')} idle streams (open subscriptions) on one connection: server memory per stream after GC, KiB, median (min–max) of ${runs}`,
          ['measure', 'KiB per stream'],
          [
            ['heap (heapUsed + external) delta / streams', fmt(heapKiB, 2)],
            ['RSS delta / streams', fmt(rssKiB, 2)],
          ],
        );
        const figure = `server memory per idle stream (${streams.toLocaleString('en-US')} open), KiB`;
        return [
          {
            scenario: 6,
            figure: `${figure}, heap`,
            rxchan: fmt(heapKiB, 2),
            peer: '',
            ratio: '',
            target: '<= 2 KiB',
            met: median(heapKiB) <= 2,
          },
          {
            scenario: 6,
            figure: `${figure}, RSS`,
            rxchan: fmt(rssKiB, 2),
            peer: '',
            ratio: '',
            target: '<= 2 KiB',
            met: median(rssKiB) <= 2,
          },
        ];
      } finally {
        for (const s of open) s.unsubscribe();
        await rx.system.close();
      }
    },
    streams,
  );
}
