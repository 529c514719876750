/**
 * The benchmark suite: rxchan against its peers, each scenario in one run, client (this process) and
 * server (a child process per system) on 127.0.0.1, over mutual TLS 1.3 for every system (ed25519
 * self-signed certificates from makeCertificate, for rxchan, @grpc/grpc-js and raw node:tls alike).
 *
 *  1. sequential request/reply add(1, 2): p50 / p99 µs — rxchan vs grpc-js unary vs raw TLS echo;
 *  2. 100 calls in flight on one connection: calls/s, client and server CPU µs per call — the same three,
 *     rxchan driven both by a tuned driver and as users write it (100 loops of `await ref.add(1, 2)`);
 *  3. a subscription of 1,000,000 small messages { seq }, from an AsyncIterable (pulled) and from
 *     `range(0, n).pipe(map(...))` (pushed): msg/s — vs grpc-js server streaming;
 *  4. a 512 MiB byte stream each way (a Readable argument; a Readable result): MB/s — vs raw TLS one-way;
 *  5. connection setup per second, fresh and resumed — bench/connect.ts, run as it is;
 *  6. 10,000 idle streams subscribed on one connection: server memory per stream; server peak RSS during
 *     (2) vs the raw echo server's;
 *  7. 2,000 calls started at once on one connection, default limits: how many complete, and how fast.
 *
 * The targets judged are issue 10's (and older ones kept, marked so).
 *
 * Each figure is the median (min–max) of BENCH_SUITE_RUNS (5) runs, the systems in turn within each
 * run, after a warm-up; ratios are per run. Each target is printed beside its figure, met or not, and
 * a summary table ends the suite. Knobs: ./suite/config.ts. Every child is killed at the end, also on
 * failure (../lib/suite-child.ts). `run()` is the entry (bench/run.ts, subset `suite`).
 */
import { runBurst } from './suite/burst.js';
import { runBytes } from './suite/bytes.js';
import { runCalls } from './suite/calls.js';
import { type SuiteConfig, suiteConfig } from './suite/config.js';
import { type Keys, makeKeys } from './suite/context.js';
import { runIdle } from './suite/idle.js';
import { type Finding, printFindings } from './suite/report.js';
import { runSetup } from './suite/setup.js';
import { runStream } from './suite/stream.js';

/** Scenarios in running order; 1 and 2 share their servers. */
const STEPS: { scenarios: number[]; run: (config: SuiteConfig, keys: Keys) => Promise<Finding[]> }[] = [
  { scenarios: [1, 2], run: runCalls },
  { scenarios: [3], run: runStream },
  { scenarios: [4], run: runBytes },
  { scenarios: [6], run: runIdle },
  { scenarios: [7], run: runBurst },
  { scenarios: [5], run: () => runSetup() },
];

export async function run(): Promise<void> {
  const config = suiteConfig();
  console.log(
    `suite: scenarios ${config.scenarios.join(',')}; ${config.runs} runs; ${config.windowMs} ms windows; ` +
      `${config.inFlight} in flight; ${config.messages} msgs (grpc ${config.grpcMessages}); ` +
      `${config.mib} MiB; ${config.streams} streams; burst ${config.burst}; grpc-js ${await grpcVersion()}`,
  );
  const keys = await makeKeys();
  const findings: Finding[] = [];
  for (const step of STEPS) {
    if (!step.scenarios.some((s) => config.scenarios.includes(s))) continue;
    findings.push(...(await step.run(config, keys)));
  }
  printFindings(findings, config.runs);
}

/** The installed @grpc/grpc-js version, from its package.json. */
async function grpcVersion(): Promise<string> {
  const { createRequire } = await import('node:module');
  const pkg = createRequire(import.meta.url)('@grpc/grpc-js/package.json') as { version: string };
  return pkg.version;
}
