/**
 * How many cases a fuzz property runs, and where its figures go.
 *
 * `npm test` runs a small sample of each property (the `sample` given here). `scripts/fuzz.mjs` sets
 * `FUZZ_RUNS` (cases per property, scaled by each property's `weight`), `FUZZ_SEED` (so each round
 * explores new inputs) and `FUZZ_STATS=1`, and reads the `FUZZ-STAT` lines this writes to stderr.
 * A failing property throws fast-check's report: the counterexample, its seed and path (replay with
 * `FUZZ_SEED=<seed>` and the same `FUZZ_RUNS`).
 */
import { performance } from 'node:perf_hooks';
import type { TestContext } from 'node:test';
import fc from 'fast-check';

/** Cases for one property: `sample` in `npm test`, `FUZZ_RUNS * weight` (at least 1) under the fuzz script. */
export function fuzzRuns(sample: number, weight = 1): number {
  const env = process.env.FUZZ_RUNS;
  if (env === undefined || env === '') return sample;
  const n = Number(env);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`FUZZ_RUNS must be a positive integer, got ${env}`);
  return Math.max(1, Math.round(n * weight));
}

/** The fast-check seed from `FUZZ_SEED`, if set. */
export function fuzzSeed(): number | undefined {
  const env = process.env.FUZZ_SEED;
  if (env === undefined || env === '') return undefined;
  const n = Number(env);
  if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED must be an integer, got ${env}`);
  return n | 0;
}

/**
 * Run `property` for {@link fuzzRuns} cases and report how many ran and how fast (a test diagnostic,
 * and a `FUZZ-STAT` JSON line on stderr when `FUZZ_STATS` is set). Throws fast-check's failure report.
 */
export async function runFuzz<Ts>(
  t: TestContext,
  name: string,
  property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>,
  sample: number,
  weight = 1,
): Promise<void> {
  const numRuns = fuzzRuns(sample, weight);
  const seed = fuzzSeed();
  const start = performance.now();
  await fc.assert(property as fc.IAsyncProperty<Ts>, {
    numRuns,
    ...(seed === undefined ? {} : { seed }),
    // Put the failing assertion's message in the report, next to the counterexample.
    includeErrorInReport: true,
  });
  const ms = performance.now() - start;
  const rate = Math.round((numRuns * 1000) / Math.max(ms, 1));
  t.diagnostic(`${name}: ${numRuns} cases in ${Math.round(ms)} ms (${rate} cases/s)`);
  if (process.env.FUZZ_STATS) {
    process.stderr.write(`FUZZ-STAT ${JSON.stringify({ name, cases: numRuns, ms: Math.round(ms) })}\n`);
  }
}
