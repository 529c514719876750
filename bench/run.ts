/**
 * Benchmark entry: `npm run bench -- [subset...]`. With no argument every registered subset runs, in order.
 * A subset is a module exporting `run(): Promise<void>` that prints its own tables; it is imported only when
 * selected, so one subset's dependencies never slow down or break another.
 */
import { loadavg } from 'node:os';
import { machineLine } from './lib/machine.js';

interface Subset {
  run(): Promise<void>;
}

/** Registered subsets, by the name given on the command line. */
const subsets: Record<string, () => Promise<Subset>> = {
  mux: () => import('./mux.js'),
  connect: () => import('./connect.js'),
  actors: () => import('./actors.js'),
  suite: () => import('./suite.js'),
  layers: () => import('./layers.js'),
  interceptors: () => import('./interceptors.js'),
  browser: () => import('./browser.js'),
  cluster: () => import('./cluster.js'),
};

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in subsets));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark subset(s): ${unknown.join(', ')}; known: ${Object.keys(subsets).join(', ')}`,
    );
    process.exitCode = 2;
    return;
  }
  console.log(machineLine());
  for (const name of names.length > 0 ? names : Object.keys(subsets)) {
    console.log(`\n## ${name}`);
    const started = Date.now();
    await (await subsets[name]!()).run();
    console.log(
      `\n(${name}: ${((Date.now() - started) / 1000).toFixed(1)} s, load after ${loadavg()[0]!.toFixed(2)})`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
