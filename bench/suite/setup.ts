/**
 * Scenario 5 of the suite: connection setup (mutual TLS 1.3 + the server's ACCEPT) per second, fresh and
 * resumed, vs raw mutual TLS 1.3 handshakes. That is exactly bench/connect.ts, which exposes only its
 * `run()`: the suite runs it (its knobs: BENCH_RUNS, BENCH_CONNECT_MS), lets it print its own table,
 * and reads the figures back from the printed rows, so nothing is measured twice or differently.
 * If connect.ts changes its output, the findings say "see the connect table" instead of failing.
 */
import type { Finding } from './report.js';

/** The cells of the printed table row whose first cell is `name`, or undefined. */
function row(lines: readonly string[], name: string): string[] | undefined {
  for (const line of lines) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells[1] === name) return cells.slice(1, -1);
  }
  return undefined;
}

/** The leading number of a cell (`1234 (1200–1300)` -> 1234), or NaN. */
function lead(cell: string | undefined): number {
  return Number.parseFloat(cell ?? '');
}

/** Run bench/connect.ts, echoing its output, and return its lines. */
async function runConnect(): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(...args.map(String).join(' ').split('\n'));
    log(...args);
  };
  try {
    const connect = await import('../connect.js');
    await connect.run();
  } finally {
    console.log = log;
  }
  return lines;
}

export async function runSetup(): Promise<Finding[]> {
  console.log('\n### 5. connection setup: bench/connect.ts, as its own subset prints it');
  const lines = await runConnect();
  // Columns of connect.ts: setup, setups/s, ms each, resumed, rxchan / raw %.
  const fresh = row(lines, 'rxchan, fresh');
  const rawFresh = row(lines, 'raw TLS to first byte, fresh');
  const resumed = row(lines, 'rxchan, resumed');
  const rawResumed = row(lines, 'raw TLS to first byte, resumed');
  const freshPct = lead(fresh?.[4]);
  const resumedRate = lead(resumed?.[1]);
  const freshRate = lead(fresh?.[1]);
  if (!fresh || !rawFresh || !resumed || !rawResumed || Number.isNaN(freshPct + resumedRate + freshRate)) {
    return [
      {
        scenario: 5,
        figure: 'connection setups/s',
        rxchan: 'see the connect table',
        peer: '',
        ratio: '',
        target: 'fresh >= 90% of raw; resumed faster than fresh',
      },
    ];
  }
  // connect.ts prints the resumed/fresh speedup as a median of per-run ratios; else use the medians.
  const printed = lines.map((l) => /resumed \/ fresh: ([\d.]+)x/.exec(l)?.[1]).find((v) => v !== undefined);
  const speedup = printed !== undefined ? Number.parseFloat(printed) : resumedRate / freshRate;
  return [
    {
      scenario: 5,
      figure: 'setups/s, fresh (mutual TLS + ACCEPT)',
      rxchan: fresh[1]!,
      peer: `raw TLS to first byte ${rawFresh[1]}`,
      ratio: `${fresh[4]} %`,
      target: '>= 90% of raw',
      met: freshPct >= 90,
    },
    {
      scenario: 5,
      figure: 'setups/s, resumed',
      rxchan: resumed[1]!,
      peer: `raw TLS to first byte ${rawResumed[1]}`,
      ratio: `${resumed[4]} %`,
      target: '',
    },
    {
      scenario: 5,
      figure: 'setups/s, resumed vs fresh',
      rxchan: `${speedup.toFixed(2)}x fresh`,
      peer: '',
      ratio: '',
      target: 'resumed faster than fresh',
      met: speedup > 1,
    },
  ];
}
