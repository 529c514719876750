/**
 * Scenario 3 of the suite: one subscription of many small messages `{ seq }`, subscribed by the client as
 * an Observable, from two sources on the rxchan callee, both judged:
 *
 *  - pulled: an AsyncIterable, which the callee pulls only as the connection takes items (backpressure,
 *    as gRPC's handler waits for 'drain'), vs @grpc/grpc-js server streaming;
 *  - pushed: exactly `range(0, n).pipe(map(seq => ({ seq })))`, a synchronous burst when the caller
 *    subscribes, bounded by the connection's byte budget for push streams (ActorsConfig.streamBufferBytes).
 *    It must complete: a run that fails is reported with its error, and the target is then not met.
 *
 * Each client runs in a child of its own (./caller.ts). Time runs from the call to the end of the stream;
 * every message is checked to arrive in order. gRPC streams fewer messages (BENCH_SUITE_GRPC_MESSAGES) to
 * stay within the time budget: the rates are compared.
 */

import type { SuiteCaller } from '../lib/suite-child.js';
import { printTable } from '../lib/table.js';
import type { SuiteConfig } from './config.js';
import { type Keys, portOf, spawnCaller, withPeers } from './context.js';
import { type Finding, fmt, formatRatio, median, pairedRatio } from './report.js';

/** Targets: issue 10's (msg/s of each source) and the older one against grpc-js (pulled source). */
const TARGET = { pulled: 2_500_000, pushed: 1_000_000, vsGrpc: 15 };

/** The failure of a run, as text: its RpcError code and message when it has one. */
function describe(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${(err as Error).message}` : String(err);
}

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
      const warm = Math.min(messages, 100_000);
      // Warm-up, not counted (a failure of the pushed source is reported with the measured runs).
      await rate(rx, 'seqs', warm);
      await rate(rx, 'range', warm).catch(() => undefined);
      await rate(grpc, 'seqs', Math.min(grpcMessages, 50_000));
      const pull: number[] = [];
      const push: number[] = [];
      const grpcRates: number[] = [];
      const pushFailures: string[] = [];
      for (let r = 0; r < runs; r++) {
        pull.push(await rate(rx, 'seqs', messages));
        await rate(rx, 'range', messages).then(
          (v) => push.push(v),
          (err: unknown) => pushFailures.push(describe(err)),
        );
        grpcRates.push(await rate(grpc, 'seqs', grpcMessages));
      }
      const m = messages.toLocaleString('en-US');
      const pullVsGrpc = pairedRatio(pull, grpcRates);
      const pushVsGrpc = push.length === runs ? pairedRatio(push, grpcRates) : undefined;
      const pushFigure =
        push.length === runs
          ? fmt(push)
          : push.length > 0
            ? `${fmt(push)}, ${push.length} of ${runs} runs completed`
            : `0 of ${runs} runs completed`;
      printTable(
        `3. one subscription of small messages { seq }, subscribed by the client, msg/s, median (min–max) of ${runs}`,
        ['system', 'messages', 'msg/s', 'vs grpc-js'],
        [
          ['rxchan, AsyncIterable source (pulled)', m, fmt(pull), formatRatio(pullVsGrpc)],
          [
            'rxchan, range(0, n).pipe(map(seq => ({ seq }))) (pushed)',
            m,
            pushFigure,
            pushVsGrpc ? formatRatio(pushVsGrpc) : '',
          ],
          [
            'grpc-js server streaming (write until drain)',
            grpcMessages.toLocaleString('en-US'),
            fmt(grpcRates),
            '',
          ],
        ],
      );
      if (pushFailures.length > 0) {
        console.log(
          `\n(range source: ${pushFailures.length} of ${runs} runs failed; first: ${pushFailures[0]})`,
        );
      }
      return [
        {
          scenario: 3,
          figure: `subscription of ${m} { seq }, AsyncIterable source (pulled), msg/s`,
          rxchan: fmt(pull),
          peer: '',
          ratio: '',
          target: `>= ${TARGET.pulled.toLocaleString('en-US')} msg/s`,
          met: median(pull) >= TARGET.pulled,
        },
        {
          scenario: 3,
          figure: 'subscription, AsyncIterable source (pulled), msg/s',
          rxchan: fmt(pull),
          peer: `grpc-js server streaming ${fmt(grpcRates)}`,
          ratio: formatRatio(pullVsGrpc),
          target: `>= ${TARGET.vsGrpc}x grpc-js (older target)`,
          met: pullVsGrpc.median >= TARGET.vsGrpc,
        },
        {
          scenario: 3,
          figure: `Observable range(0, ${m}).pipe(map(seq => ({ seq }))), completes, msg/s`,
          rxchan: pushFailures.length > 0 ? `${pushFigure}; ${pushFailures[0]}` : pushFigure,
          peer: pushVsGrpc ? `grpc-js server streaming ${fmt(grpcRates)}` : '',
          ratio: pushVsGrpc ? formatRatio(pushVsGrpc) : '',
          target: `completes in every run, >= ${TARGET.pushed.toLocaleString('en-US')} msg/s`,
          met: push.length === runs && median(push) >= TARGET.pushed,
        },
      ];
    } finally {
      await Promise.all(callers.map((c) => c.stop()));
    }
  });
}
