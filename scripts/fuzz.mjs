#!/usr/bin/env node
// Runs the fuzz properties of specs/fuzz (the same ones `npm test` samples) for at least FUZZ_TOTAL cases
// in all (default 1,000,000), in rounds: every round runs each compiled fuzz spec with FUZZ_RUNS cases per
// property (scaled by the property's weight; default 25,000) and a fresh seed, two files at a time.
// Prints each round, then cases and cases/s per property, and for a property that reports them (counts
// in its FUZZ-STAT line) the share of its cases its oracle left undetermined. On a failure it prints the spec's report (the
// counterexample, its seed and path), how to replay it, and exits 1.
//
//   npm run build && node scripts/fuzz.mjs                 # >= 1,000,000 cases
//   FUZZ_TOTAL=200000 FUZZ_RUNS=5000 node scripts/fuzz.mjs  # a shorter run
//   FUZZ_SEED=42 node scripts/fuzz.mjs                      # reproducible rounds (seed 42, 43, ...)
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = process.env.SPECS_DIR ?? 'dist/specs';
const dir = join(root, 'fuzz');
const total = positive('FUZZ_TOTAL', 1_000_000);
const runs = positive('FUZZ_RUNS', 25_000);
const baseSeed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 1_000_000_000;
const parallel = 2;

function positive(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`${name} must be a positive integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

let files;
try {
  files = readdirSync(dir)
    .filter((f) => f.endsWith('.spec.js'))
    .sort()
    .map((f) => join(dir, f));
} catch {
  files = [];
}
if (files.length === 0) {
  console.error(`no fuzz specs under ${dir} (build first: npm run build)`);
  process.exit(2);
}

/** Runs one spec file; resolves with its FUZZ-STAT lines, or rejects with its whole output. */
function runFile(file, seed) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--test-reporter=tap', file], {
      env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: String(seed), FUZZ_STATS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.on('close', (code) => {
      const stats = err
        .split('\n')
        .filter((l) => l.startsWith('FUZZ-STAT '))
        .map((l) => JSON.parse(l.slice('FUZZ-STAT '.length)));
      if (code === 0) resolve(stats);
      else reject(Object.assign(new Error(`${file} failed (exit ${code})`), { out, err, file, seed }));
    });
  });
}

const perProperty = new Map();
let cases = 0;
const started = performance.now();
console.log(
  `fuzz: ${files.length} spec files, ${runs} runs per property, target ${total} cases, seed ${baseSeed}`,
);
for (let round = 0; cases < total; round++) {
  const seed = baseSeed + round;
  const roundStart = performance.now();
  let roundCases = 0;
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      let stats;
      try {
        stats = await runFile(file, seed);
      } catch (e) {
        console.error(`\nFAILED: ${e.file} (round ${round + 1}, FUZZ_SEED=${e.seed}, FUZZ_RUNS=${runs})`);
        console.error(
          e.out
            .split('\n')
            .filter((l) => !/^\s*(duration_ms|\.\.\.|---)/.test(l))
            .join('\n'),
        );
        console.error(
          e.err
            .split('\n')
            .filter((l) => !l.startsWith('FUZZ-STAT '))
            .join('\n'),
        );
        console.error(`replay: FUZZ_SEED=${e.seed} FUZZ_RUNS=${runs} node --test ${e.file}`);
        process.exit(1);
      }
      for (const s of stats) {
        const p = perProperty.get(s.name) ?? { cases: 0, ms: 0, counts: {} };
        p.cases += s.cases;
        p.ms += s.ms;
        for (const [k, n] of Object.entries(s.counts ?? {})) p.counts[k] = (p.counts[k] ?? 0) + n;
        perProperty.set(s.name, p);
        roundCases += s.cases;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  cases += roundCases;
  const secs = (performance.now() - roundStart) / 1000;
  console.log(
    `round ${round + 1} (seed ${seed}): ${roundCases.toLocaleString('en')} cases in ${secs.toFixed(1)} s; ` +
      `total ${cases.toLocaleString('en')}`,
  );
}
const wall = (performance.now() - started) / 1000;
console.log('\nproperty                         cases        cases/s');
for (const [name, p] of [...perProperty].sort((a, b) => b[1].cases - a[1].cases)) {
  const rate = Math.round((p.cases * 1000) / Math.max(p.ms, 1));
  console.log(
    `${name.padEnd(30)} ${p.cases.toLocaleString('en').padStart(10)} ${rate.toLocaleString('en').padStart(12)}`,
  );
}
for (const [name, p] of perProperty) {
  const { checked, undetermined } = p.counts;
  if (checked === undefined || undetermined === undefined) continue;
  const share = checked === 0 ? 0 : (100 * undetermined) / checked;
  console.log(
    `${name}: ${undetermined.toLocaleString('en')} of ${checked.toLocaleString('en')} cases checked ` +
      `against the oracle were undetermined (${share.toFixed(2)}%)`,
  );
}
console.log(
  `\n${cases.toLocaleString('en')} cases in ${wall.toFixed(1)} s wall ` +
    `(${Math.round(cases / wall).toLocaleString('en')} cases/s, ${parallel} files at a time); no failures`,
);
