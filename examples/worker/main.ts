/**
 * Worker: actors in a `worker_threads` worker, called from the main thread over a MessagePort, and the
 * worker calling the main thread back over a second one. Each side has its own key and authorizes the
 * other's, so `callContext().caller` names the caller as over TLS.
 *
 *   1. a unary call with a callback (the worker reports progress to the main thread);
 *   2. a stream, cancelled by `break` (the worker's interval is torn down);
 *   3. the worker's own call into the main thread's `console` actor.
 *
 * Run: `node dist/examples/worker/main.js`. Exits 0 on success (see examples/lib/run.ts).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { ActorSystem, Identity } from '../../src/index.js';
import { check, type Log, runExample, until } from '../lib/run.js';
import { CONSOLE_LINES, Console, type Primes } from './primes.js';

async function main(log: Log): Promise<void> {
  const mainId = Identity.generate();
  const workerSeed = randomBytes(32);
  const workerKey = Identity.fromSeed(workerSeed).id;
  const system = new ActorSystem({ identity: mainId, authorizedKeys: [{ key: workerKey, name: 'worker' }] });
  const printed: string[] = [];
  system.container.register(CONSOLE_LINES, { useValue: printed });
  await system.register(Console);

  // One port per direction: each carries one connection, dialled by the side that makes the calls.
  const calls = new MessageChannel();
  const callBacks = new MessageChannel();
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: { seed: workerSeed, mainKey: mainId.id, serve: calls.port2, callBack: callBacks.port2 },
    transferList: [calls.port2, callBacks.port2],
  });
  const exited = once(worker, 'exit');
  const serving = system.servePort(callBacks.port1);

  const primes = system.ref<Primes>('primes', { messagePort: calls.port1, key: workerKey });
  try {
    log(`the worker knows us as: ${await primes.whoami()}`);

    const progress: number[] = [];
    const count = await primes.count(2_000_000, async (done) => {
      progress.push(Math.round(done * 100));
    });
    log(`primes below 2,000,000: ${count}, progress called back at ${progress.join(', ')} %`);
    check(count === 148_933, `expected 148933 primes, got ${count}`);

    const first: number[] = [];
    for await (const p of primes.primes()) {
      first.push(p);
      if (first.length === 8) break; // cancels the call: the worker's interval is torn down
    }
    log(`a stream of primes, cancelled after 8: ${first.join(', ')}`);

    await serving;
    await until(() => printed.length > 0, "the worker's call", 5_000);
    log(`the main thread's console got: ${printed.join('; ')}`);
  } finally {
    await system.close();
  }
  const [code] = (await exited) as [number];
  log(`worker exited by itself, code ${code}`);
}

runExample('worker', main);
