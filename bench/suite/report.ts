/**
 * How the suite benchmark reports: each scenario prints its own table (every system, median and min–max
 * of its runs) and returns {@link Finding}s; the suite ends with one table of every finding and whether
 * its target was met. Ratios are taken per run (the systems of one run are seconds apart) and then
 * summarized, so drift of a shared machine between runs does not enter them.
 */
import { formatSummary, type Summary, summarize } from '../lib/stats.js';
import { printTable } from '../lib/table.js';

/** One figure of the summary. */
export interface Finding {
  /** Scenario number, 1..7. */
  readonly scenario: number;
  readonly figure: string;
  readonly rxchan: string;
  /** The peer it is compared with and its figure, e.g. `raw TLS echo 54 (53–60)`; '' if none. */
  readonly peer: string;
  /** rxchan relative to the peer, e.g. `1.9x (1.7–2.1)`; '' if none. */
  readonly ratio: string;
  /** The target in words; '' if the figure has none. */
  readonly target: string;
  /** Whether the target was met (by the medians); undefined when there is no target. */
  readonly met?: boolean;
}

/** Per-run ratios `a[i] / b[i]`, summarized. Throws RangeError on empty or unequal samples. */
export function pairedRatio(a: readonly number[], b: readonly number[]): Summary {
  if (a.length !== b.length)
    throw new RangeError(`paired samples differ in length: ${a.length} vs ${b.length}`);
  return summarize(a.map((v, i) => v / b[i]!));
}

/** `1.93x (1.70–2.11)`. */
export function formatRatio(s: Summary, digits = 2): string {
  return `${s.median.toFixed(digits)}x (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** A sample's summary as text, `digits` decimals, optional unit after the median. */
export function fmt(samples: readonly number[], digits = 0, unit = ''): string {
  return formatSummary(summarize(samples), digits, unit);
}

/** Median of a sample. */
export function median(samples: readonly number[]): number {
  return summarize(samples).median;
}

/** 'met' / 'NOT met' / ''. */
export function verdict(met: boolean | undefined): string {
  return met === undefined ? '' : met ? 'met' : 'NOT met';
}

/** Print every finding, in scenario order. */
export function printFindings(findings: readonly Finding[], runs: number): void {
  printTable(
    `suite summary: rxchan vs peers, median (min–max) of ${runs} runs (5: connect.ts's own runs); ratios per run`,
    ['#', 'figure', 'rxchan', 'peer', 'rxchan vs peer', 'target', 'met'],
    [...findings]
      .sort((a, b) => a.scenario - b.scenario)
      .map((f) => [String(f.scenario), f.figure, f.rxchan, f.peer, f.ratio, f.target, verdict(f.met)]),
  );
  const judged = findings.filter((f) => f.met !== undefined);
  console.log(`\ntargets met: ${judged.filter((f) => f.met).length} of ${judged.length}`);
}
