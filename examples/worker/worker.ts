/**
 * The worker thread of the worker example: hosts `primes` on the port the main thread calls it on,
 * and calls the main thread's `console` on a second port. Both connections are keyed: each side
 * proves its ed25519 key and is judged by the other's authorized keys, as over TLS.
 */
import 'reflect-metadata';
import { type MessagePort, workerData } from 'node:worker_threads';
import { ActorSystem, Identity } from '../../src/index.js';
import { type Console, Primes } from './primes.js';

interface WorkerData {
  /** The worker's key seed (made by the main thread, which authorizes the worker's key). */
  seed: Uint8Array;
  /** The main thread's public key. */
  mainKey: string;
  /** The main thread calls `primes` on this port. */
  serve: MessagePort;
  /** This worker calls the main thread's `console` on this port. */
  callBack: MessagePort;
}

const { seed, mainKey, serve, callBack } = workerData as WorkerData;
const system = new ActorSystem({
  identity: Identity.fromSeed(seed),
  authorizedKeys: [{ key: mainKey, name: 'main thread' }],
});
await system.register(Primes);
await system.servePort(serve);

const console = system.ref<Console>('console', { messagePort: callBack, key: mainKey });
await console.print('primes is up');
// No close() here: when the main thread closes its system, both connections end and their ports
// close, and with nothing left to do this thread exits.
