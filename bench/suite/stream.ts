/**
 * Scenario 3 of the suite: one subscription of many small messages `{ seq }`, rxchan (a ref's stream
 * result, subscribed as an Observable) vs @grpc/grpc-js server streaming (the handler writes while
 * `write()` says so, then waits for 'drain'). rxchan's server has two sources, both measured: an
 * AsyncIterable, which the pump pulls only as the connection takes items (backpressure, as gRPC's
 * handler; what the library documents for long streams) — the one judged against the targets — and, for
 * reference, an Observable pushing batches with no backpressure beyond the stream buffer (1,024 items,
 * overflow 'error'): whenever its reader falls that far behind, the run fails RESOURCE_EXHAUSTED, which is
 * the bound on memory working, reported as such. Each client runs in a child of its own (./caller.ts).
 * Time runs from the call to the end of the stream; every message is checked to arrive in order. gRPC
 * streams fewer messages (BENCH_SUITE_GRPC_MESSAGES) to stay within the time budget: the rates are
 * compared.
 */

import type { SuiteCaller } from '../lib/suite-child.js';
import { printTable } from '../lib/table.js';
import { PUSH_BATCH } from './actor.js';
import type { SuiteConfig } from './config.js';
import { type Keys, portOf, spawnCaller, withPeers } from './context.js';
import { type Finding, fmt, formatRatio, median, pairedRatio } from './report.js';

export async function runStream(config: SuiteConfig, keys: Keys): Promise<Finding[]> {
  const { runs, messages, grpcMessages, limitMs } = config;
  return withPeers(keys, ['rxchan', 'grpc'], async (peers) => {
    const callers: SuiteCaller[] = [];
    try {
      const rx = await spawnCaller(keys, 'rxchan', portOf(peers.rxchan, 'rxchan'), 1);
      callers.push(rx);
      const grpc = await spawnCaller(keys, 'grpc', portOf(peers.grpc, 'grpc'), 1);
      callers.push(grpc);
      const rate = async (caller: SuiteCaller, op: string, n: number) =>
        (await caller.ask(`${op}:${n}`, limitMs)) as number;
      const rxStream = (n: number) => rate(rx, 'seqs', n);
      const rxPushed = (n: number) => rate(rx, 'seqs-pushed', n);
      const grpcStream = (n: number) => rate(grpc, 'seqs', n);
      // Warm-up, not counted.
      await rxStream(Math.min(messages, 100_000));
      await grpcStream(Math.min(grpcMessages, 50_000));
      const pull: number[] = [];
      const push: number[] = [];
      const grpcRates: number[] = [];
      let pushFailure = ''; // an overflowing push run is reported, not fatal: it is what that source risks
      for (let r = 0; r < runs; r++) {
        pull.push(await rxStream(messages));
        await rxPushed(messages).then(
          (v) => push.push(v),
          (err: unknown) => {
            const code = (err as { code?: unknown }).code;
            pushFailure = typeof code === 'string' ? `${code}: ${(err as Error).message}` : String(err);
          },
        );
        grpcRates.push(await grpcStream(grpcMessages));
      }
      const m = messages.toLocaleString('en-US');
      const sources = [
        { name: 'AsyncIterable source (pulled)', x: pull, judged: true },
        { name: `Observable source (${PUSH_BATCH} per macrotask, not judged)`, x: push, judged: false },
      ];
      const vsGrpc = (x: number[]) => (x.length === runs ? pairedRatio(x, grpcRates) : undefined);
      printTable(
        `3. one subscription of small messages { seq }, msg/s, median (min–max) of ${runs}`,
        ['system', 'messages', 'msg/s', 'vs grpc-js'],
        [
          ...sources.map(({ name, x }) => {
            const ratio = vsGrpc(x);
            return [
              `rxchan, ${name}`,
              m,
              x.length > 0 ? fmt(x) : '',
              ratio ? formatRatio(ratio) : `${runs - x.length} of ${runs} runs failed`,
            ];
          }),
          [
            'grpc-js server streaming (write until drain)',
            grpcMessages.toLocaleString('en-US'),
            fmt(grpcRates),
            '',
          ],
        ],
      );
      if (pushFailure)
        console.log(`\n(push source: ${push.length} of ${runs} runs completed; ${pushFailure})`);
      return sources.flatMap(({ name, x, judged }): Finding[] => {
        const ratio = vsGrpc(x);
        const figure =
          x.length === runs
            ? fmt(x)
            : x.length > 0
              ? `${fmt(x)}, ${x.length} of ${runs} runs (others failed)`
              : `failed: ${pushFailure}`;
        return [
          {
            scenario: 3,
            figure: `subscription of ${m} { seq }, ${name}, msg/s`,
            rxchan: figure,
            peer: '',
            ratio: '',
            target: judged ? '>= 1,000,000 msg/s' : '',
            ...(judged ? { met: x.length === runs && median(x) >= 1_000_000 } : {}),
          },
          {
            scenario: 3,
            figure: `subscription, ${name}, msg/s`,
            rxchan: figure,
            peer: `grpc-js server streaming ${fmt(grpcRates)}`,
            ratio: ratio ? formatRatio(ratio) : '',
            target: judged ? '>= 15x grpc-js' : '',
            ...(judged ? { met: ratio !== undefined && ratio.median >= 15 } : {}),
          },
        ];
      });
    } finally {
      await Promise.all(callers.map((c) => c.stop()));
    }
  });
}
