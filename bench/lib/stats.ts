/**
 * Summary statistics for benchmark samples. A benchmark reports the median of its runs with the min–max
 * range beside it, so one noisy run (GC, another process on the machine) neither hides nor fakes a result.
 */

/** Median, min and max of a non-empty sample. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

/** Summarize `samples`. Throws RangeError on an empty sample: a benchmark that produced nothing is a bug. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

/** `1234.5 (1200.0–1250.3)` with `digits` decimals; `unit` is appended to the median. */
export function formatSummary(s: Summary, digits = 1, unit = ''): string {
  return `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** A ratio as a percentage with no decimals: `ratio(85, 100) === '85%'`. */
export function percent(numerator: number, denominator: number): string {
  return `${Math.round((numerator / denominator) * 100)}%`;
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
