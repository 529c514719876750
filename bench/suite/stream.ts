/**
 * Scenario 3 of the suite: one subscription of many small messages `{ seq }`, rxchan (a ref's stream
 * result, subscribed as an Observable) vs @grpc/grpc-js server streaming (the handler writes while
 * `write()` says so, then waits for 'drain'). rxchan's server has two sources, both measured and both
 * judged: an AsyncIterable, which the pump pulls only as the connection takes items (backpressure, as
 * gRPC's handler; what the library documents for long streams), and an Observable pushing batches
 * (no backpressure beyond the stream buffer). Time runs from the call to the end of the stream; every
 * message is checked to arrive in order. gRPC streams fewer messages (BENCH_SUITE_GRPC_MESSAGES) to
 * stay within the time budget: the rates are compared.
 */

import type { Ref } from '../../src/index.js';
import { GrpcBenchClient } from '../lib/grpc-service.js';
import { deadline } from '../lib/load.js';
import { nowMs } from '../lib/stats.js';
import { printTable } from '../lib/table.js';
import { type Bench, PUSH_BATCH } from './actor.js';
import type { SuiteConfig } from './config.js';
import { type Keys, portOf, rxchanClient, withPeers } from './context.js';
import { type Finding, fmt, formatRatio, median, pairedRatio } from './report.js';

/** Receive `n` messages of one rxchan subscription; resolves with the count once it completed. */
function rxchanSeqs(bench: Ref<Bench>, n: number, pushed: boolean): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let count = 0;
    const subscription = (pushed ? bench.seqsPushed(n) : bench.seqs(n)).subscribe({
      next: (m) => {
        if (m.seq !== count) {
          subscription.unsubscribe();
          reject(new Error(`rxchan seqs: got seq ${m.seq}, expected ${count}`));
          return;
        }
        count++;
      },
      error: reject,
      complete: () => resolve(count),
    });
  });
}

/** Messages per second of `stream(n)`, which must deliver exactly `n`. */
async function rate(stream: (n: number) => Promise<number>, n: number, limitMs: number, what: string) {
  const start = nowMs();
  const got = await deadline(stream(n), limitMs, what);
  const seconds = (nowMs() - start) / 1000;
  if (got !== n) throw new Error(`${what}: ${got} messages arrived, ${n} sent`);
  return n / seconds;
}

export async function runStream(config: SuiteConfig, keys: Keys): Promise<Finding[]> {
  const { runs, messages, grpcMessages, limitMs } = config;
  return withPeers(keys, ['rxchan', 'grpc'], async (peers) => {
    const rx = rxchanClient(keys, portOf(peers.rxchan, 'rxchan'));
    let grpc: GrpcBenchClient | undefined;
    try {
      grpc = await GrpcBenchClient.connect(
        portOf(peers.grpc, 'grpc'),
        keys.clientCert,
        keys.serverCert.certPem,
      );
      const g = grpc;
      const rxStream = (n: number) => rxchanSeqs(rx.bench, n, false);
      const rxPushed = (n: number) => rxchanSeqs(rx.bench, n, true);
      const grpcStream = (n: number) => g.seqs(n);
      // Warm-up, not counted.
      await rate(rxStream, Math.min(messages, 100_000), limitMs, 'rxchan warm-up');
      await rate(grpcStream, Math.min(grpcMessages, 50_000), limitMs, 'grpc warm-up');
      const pull: number[] = [];
      const push: number[] = [];
      const grpcRates: number[] = [];
      let pushFailure = ''; // an overflowing push run is reported, not fatal: it is what that source risks
      for (let r = 0; r < runs; r++) {
        pull.push(await rate(rxStream, messages, limitMs, 'rxchan pull source'));
        await rate(rxPushed, messages, limitMs, 'rxchan push source').then(
          (v) => push.push(v),
          (err: unknown) => {
            const code = (err as { code?: unknown }).code;
            pushFailure = typeof code === 'string' ? `${code}: ${(err as Error).message}` : String(err);
          },
        );
        grpcRates.push(await rate(grpcStream, grpcMessages, limitMs, 'grpc server stream'));
      }
      const m = messages.toLocaleString('en-US');
      const sources = [
        { name: 'AsyncIterable source (pulled)', x: pull },
        { name: `Observable source (${PUSH_BATCH} per macrotask)`, x: push },
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
      return sources.flatMap(({ name, x }): Finding[] => {
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
            target: '>= 1,000,000 msg/s',
            met: x.length === runs && median(x) >= 1_000_000,
          },
          {
            scenario: 3,
            figure: `subscription, ${name}, msg/s`,
            rxchan: figure,
            peer: `grpc-js server streaming ${fmt(grpcRates)}`,
            ratio: ratio ? formatRatio(ratio) : '',
            target: '>= 15x grpc-js',
            met: ratio !== undefined && ratio.median >= 15,
          },
        ];
      });
    } finally {
      grpc?.close();
      await rx.system.close();
    }
  });
}
