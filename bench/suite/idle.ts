/**
 * Scenario 6 of the suite: memory per idle stream. The client opens `streams` (10,000) subscriptions to
 * `bench.idle()` (an Observable that never emits) on one connection and waits until the server's actor
 * counts them all SUBSCRIBED: a stream result is subscribed on the callee only once the caller
 * subscribes, so a call merely in progress (parked) is not yet an open stream, and the count comes from
 * the Observable itself (./actor.ts), not from the calls in progress. The server (its own child, run
 * with --expose-gc) reports its memory after a full GC before and after. Per stream = delta / streams,
 * for the heap (V8 heapUsed + external, which holds Buffers) and for RSS. Each run closes them all and
 * waits for the server to count no subscription and no call before the next. Limits raised on both ends
 * so one connection may hold that many calls (spec.ts, streamLimits).
 */
import type { Subscription } from 'rxjs';
import type { MemoryUsage, SuitePeer } from '../lib/suite-child.js';
import { waitFor } from '../lib/suite-load.js';
import { printTable } from '../lib/table.js';
import type { SuiteConfig } from './config.js';
import { type Keys, portOf, rxchanClient, withPeers } from './context.js';
import { type Finding, fmt, median } from './report.js';

const KiB = 1024;
/** Target of issue 10, per stream, KiB (heap and RSS alike). */
const TARGET_KIB = 1.5;

/** Subscriptions the server's actor holds open, and calls it has in progress. */
async function counts(peer: SuitePeer): Promise<{ subscribed: number; served: number }> {
  const stats = await peer.ask('stats');
  return { subscribed: stats.idleSubscribed ?? Number.NaN, served: stats.servedCalls ?? Number.NaN };
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
      // Every subscription at once, in one synchronous loop: the calls wait for stream slots as they must.
      const openAll = async (n: number): Promise<void> => {
        while (open.length < n) {
          open.push(
            rx.bench.idle().subscribe({
              error: (err: unknown) => {
                failure ??= err;
              },
            }),
          );
        }
        await waitFor(
          () => counts(peer),
          (c) => c.subscribed >= n || failure !== undefined,
          limitMs,
          `server's actor subscribed to ${n} streams`,
          5,
        );
        if (failure) throw failure;
      };
      const closeAll = async (): Promise<void> => {
        for (const s of open) s.unsubscribe();
        open = [];
        await waitFor(
          () => counts(peer),
          (c) => c.subscribed === 0 && c.served === 0,
          limitMs,
          'server releasing every stream',
        );
      };
      try {
        await rx.bench.add(1, 2); // connect
        // Warm-up: the code paths and the connection's own buffers exist already.
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
          `6. ${streams.toLocaleString('en-US')} idle streams (subscribed on the callee) on one connection: server memory per stream after GC, KiB, median (min–max) of ${runs}`,
          ['measure', 'KiB per stream'],
          [
            ['heap (heapUsed + external) delta / streams', fmt(heapKiB, 2)],
            ['RSS delta / streams', fmt(rssKiB, 2)],
          ],
        );
        const figure = `server memory per idle stream (${streams.toLocaleString('en-US')} subscribed), KiB`;
        return [
          {
            scenario: 6,
            figure: `${figure}, heap`,
            rxchan: fmt(heapKiB, 2),
            peer: '',
            ratio: '',
            target: `<= ${TARGET_KIB} KiB`,
            met: median(heapKiB) <= TARGET_KIB,
          },
          {
            scenario: 6,
            figure: `${figure}, RSS`,
            rxchan: fmt(rssKiB, 2),
            peer: '',
            ratio: '',
            target: `<= ${TARGET_KIB} KiB`,
            met: median(rssKiB) <= TARGET_KIB,
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
