/**
 * The suite benchmark's knobs, read once from the environment. Every count and duration bounds a loop;
 * the defaults run the whole suite in about 4 minutes on a 2-vCPU machine (scenario 5 runs
 * bench/connect.ts, which reads its own BENCH_RUNS and BENCH_CONNECT_MS).
 */
import { envInt } from '../lib/env.js';

/** Every field with its unit; see {@link suiteConfig} for the variable and default of each. */
export interface SuiteConfig {
  /** Scenarios to run, 1..7, in this order. */
  scenarios: number[];
  /** Measured runs per figure, each system in turn within a run (medians and min–max over them). */
  runs: number;
  /** Window of each latency (1) and in-flight (2) measure, ms. */
  windowMs: number;
  /**
   * Warm-up of each system before scenarios 1 and 2, per measure, ms (not counted). grpc-js needs
   * seconds of calls before its JIT settles (its CPU per call halves over the first ~3 s).
   */
  warmMs: number;
  /** Calls in flight on one connection in scenario 2. */
  inFlight: number;
  /** Messages of the rxchan subscription in scenario 3. */
  messages: number;
  /** Messages of the gRPC server stream in scenario 3 (a rate is compared; gRPC is far slower). */
  grpcMessages: number;
  /** Bytes of the byte stream in scenario 4, MiB. */
  mib: number;
  /** Streams held open on one connection in scenario 6. */
  streams: number;
  /** Calls started at once on one connection in scenario 7. */
  burst: number;
  /** Longest any single measure may take before the suite fails, ms. */
  limitMs: number;
}

function envScenarios(): number[] {
  const v = process.env.BENCH_SUITE_SCENARIOS;
  if (v === undefined || v === '') return [1, 2, 3, 4, 5, 6, 7];
  const list = v.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 7)) {
    throw new Error(`BENCH_SUITE_SCENARIOS must be a comma-separated list of 1..7, got ${v}`);
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

/**
 * The knobs: BENCH_SUITE_SCENARIOS (all), BENCH_SUITE_RUNS (5), BENCH_SUITE_MS (1000),
 * BENCH_SUITE_IN_FLIGHT (100), BENCH_SUITE_MESSAGES (1,000,000), BENCH_SUITE_GRPC_MESSAGES (200,000),
 * BENCH_SUITE_MIB (512), BENCH_SUITE_STREAMS (10,000), BENCH_SUITE_BURST (2,000), BENCH_SUITE_WARM_MS
 * (2,000), BENCH_SUITE_LIMIT_MS (120,000). Throws on a
 * malformed value, so a typo cannot silently run the defaults.
 */
export function suiteConfig(): SuiteConfig {
  return {
    scenarios: envScenarios(),
    runs: envInt('BENCH_SUITE_RUNS', 5, 1),
    windowMs: envInt('BENCH_SUITE_MS', 1_000, 100),
    warmMs: envInt('BENCH_SUITE_WARM_MS', 2_000, 100),
    inFlight: envInt('BENCH_SUITE_IN_FLIGHT', 100, 1),
    messages: envInt('BENCH_SUITE_MESSAGES', 1_000_000, 1),
    grpcMessages: envInt('BENCH_SUITE_GRPC_MESSAGES', 200_000, 1),
    mib: envInt('BENCH_SUITE_MIB', 512, 1),
    streams: envInt('BENCH_SUITE_STREAMS', 10_000, 1),
    burst: envInt('BENCH_SUITE_BURST', 2_000, 1),
    limitMs: envInt('BENCH_SUITE_LIMIT_MS', 120_000, 1_000),
  };
}
