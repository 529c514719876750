/**
 * A `worker_threads` worker for the MessagePort specs (run as dist/specs/support/port-worker.js).
 * `workerData.role`:
 * - 'host': hosts the `lab` actor and serves it on `workerData.port` (keyed with `seed` and `clients`,
 *   or `insecure`); posts `{ event: 'ready' }` once serving, `{ event: 'refused', code }` when the
 *   handshake fails, `{ event: 'teardown' }` when a stream's source is torn down, `{ event: 'hanging' }`
 *   from `hang()`.
 * - 'caller': calls `greeter.hello('worker')` on the main thread over `workerData.port` and posts
 *   `{ event: 'result', value }` or `{ event: 'error', code }`, then closes its system.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { Observable } from 'rxjs';
import { ActorSystem, actor, callContext, Identity, rpcError } from '../../src/index.js';

interface Data {
  role: 'host' | 'caller';
  port: MessagePort;
  /** Our identity's seed; none: insecure. */
  seed?: Uint8Array;
  /** host: who may connect. */
  clients?: { key: string; name: string }[];
  /** caller: the main thread's key. */
  serverKey?: string;
  portWindowBytes?: number;
}

const data = workerData as Data;
const tell = (message: Record<string, unknown>) => parentPort!.postMessage(message);

@actor('lab')
class Lab {
  add(a: number, b: number): number {
    return a + b;
  }

  whoami(): string {
    return callContext().caller?.name ?? 'nobody';
  }

  fail(): never {
    throw rpcError('FAILED_PRECONDITION', 'the account is frozen', { reason: 'FROZEN' });
  }

  ticks(periodMs: number): Observable<number> {
    return new Observable<number>((subscriber) => {
      let n = 0;
      const timer = setInterval(() => subscriber.next(n++), periodMs);
      return () => {
        clearInterval(timer);
        tell({ event: 'teardown' });
      };
    });
  }

  async table(n: number, row: (i: number) => Promise<string>): Promise<string[]> {
    const rows: string[] = [];
    for (let i = 1; i <= n; i++) rows.push(await row(i));
    return rows;
  }

  async sha256(bytes: Readable): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of bytes) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  /** `size` bytes of a pattern, in 64 KiB chunks. */
  download(size: number): Readable {
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
    let left = size;
    return Readable.from(
      (function* () {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          yield chunk.subarray(0, n);
        }
      })(),
    );
  }

  hang(): Promise<never> {
    tell({ event: 'hanging' });
    return new Promise<never>(() => {});
  }
}

const identity = data.seed === undefined ? undefined : Identity.fromSeed(data.seed);

if (data.role === 'host') {
  const system = new ActorSystem({
    ...(identity ? { identity, authorizedKeys: data.clients ?? [] } : {}),
    onError: () => {},
  });
  await system.register(Lab);
  system
    .servePort(data.port, {
      ...(identity ? {} : { insecure: true }),
      ...(data.portWindowBytes === undefined ? {} : { portWindowBytes: data.portWindowBytes }),
    })
    .then(
      () => tell({ event: 'ready' }),
      (err: { code?: string }) => tell({ event: 'refused', code: err.code }),
    );
} else {
  const system = new ActorSystem({ ...(identity ? { identity } : {}), onError: () => {} });
  const greeter = system.ref<{ hello(name: string): Promise<string> }>(
    'greeter',
    identity ? { messagePort: data.port, key: data.serverKey! } : { messagePort: data.port, insecure: true },
  );
  try {
    tell({ event: 'result', value: await greeter.hello('worker') });
  } catch (err) {
    tell({ event: 'error', code: (err as { code?: string }).code });
  }
  await system.close();
}
