/**
 * Scenario 7 of the suite: `burst` (2,000) calls `add(i, 1)` started at once on one connection, by an
 * rxchan client with the library's default limits (1,024 pending calls per connection on the caller,
 * 1,024 calls in progress per connection on the callee): the calls beyond the limit must wait for a
 * slot, not fail. Each answer is checked. Reports, per run, how many completed and how long the whole
 * burst took (from the first call started to the last settled); failures are counted by code, never
 * fatal. The client runs in a child of its own (./caller.ts), a fresh connection, warmed by one burst.
 */
import { printTable } from '../lib/table.js';
import type { SuiteConfig } from './config.js';
import { type Keys, portOf, spawnCaller, withPeers } from './context.js';
import { type Finding, fmt } from './report.js';
import type { BurstResult } from './spec.js';

export async function runBurst(config: SuiteConfig, keys: Keys): Promise<Finding[]> {
  const { runs, burst: n, limitMs } = config;
  return withPeers(keys, ['rxchan'], async (peers) => {
    const caller = await spawnCaller(keys, 'rxchan', portOf(peers.rxchan, 'rxchan'), 1);
    try {
      const once = async () => (await caller.ask(`burst:${n}`, limitMs)) as BurstResult;
      await once(); // warm-up, not counted
      const results: BurstResult[] = [];
      for (let r = 0; r < runs; r++) results.push(await once());
      const ok = results.map((r) => r.ok);
      const ms = results.map((r) => r.ms);
      const failures: Record<string, number> = {};
      for (const r of results) {
        for (const [code, count] of Object.entries(r.failures))
          failures[code] = (failures[code] ?? 0) + count;
      }
      const failed = Object.entries(failures)
        .map(([code, count]) => `${code} x${count}`)
        .join(', ');
      const allOk = ok.every((v) => v === n);
      const count = n.toLocaleString('en-US');
      printTable(
        `7. ${count} calls add(i, 1) started at once on one connection, default limits, median (min–max) of ${runs}`,
        ['system', 'completed', 'failed (all runs, by code)', 'ms for the burst', 'calls/s'],
        [
          [
            'rxchan',
            `${fmt(ok)} of ${count}`,
            failed || 'none',
            fmt(ms, 1),
            fmt(
              ms.map((v) => n / (v / 1000)),
              0,
            ),
          ],
        ],
      );
      return [
        {
          scenario: 7,
          figure: `${count} concurrent calls on one connection: completed (ms for all)`,
          rxchan: `${fmt(ok)} (${fmt(ms, 1)} ms)${failed ? `; failed: ${failed}` : ''}`,
          peer: '',
          ratio: '',
          target: `all ${count} complete, every run`,
          met: allOk,
        },
      ];
    } finally {
      await caller.stop();
    }
  });
}
