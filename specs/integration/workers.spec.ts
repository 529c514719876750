/**
 * Actors across `worker_threads` over a MessagePort: a worker hosts actors (specs/support/port-worker.ts)
 * and the main thread calls them, keyed (the in-band handshake) or insecure; and the reverse.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, afterEach, describe, it } from 'node:test';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Observable } from 'rxjs';
import { ActorSystem, actor, callContext, Identity, isRpcError } from '../../src/index.js';

const WORKER = new URL('../support/port-worker.js', import.meta.url);

interface Lab {
  add(a: number, b: number): Promise<number>;
  whoami(): Promise<string>;
  fail(): Promise<never>;
  ticks(periodMs: number): Observable<number>;
  table(n: number, row: (i: number) => Promise<string>): Promise<string[]>;
  sha256(bytes: Readable): Promise<string>;
  download(size: number): Promise<Readable>;
  hang(): Promise<never>;
}

type Event = { event: string; code?: string; value?: unknown };

const workers: Worker[] = [];
const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.map((s) => s.close()));
  systems.length = 0;
  await Promise.all(workers.map((w) => w.terminate()));
  workers.length = 0;
});
after(() => {
  for (const w of workers) void w.terminate();
});

/** A worker started with `data` (its port transferred); its events queued for {@link next}. */
function start(data: Record<string, unknown> & { port: MessagePort }) {
  const worker = new Worker(WORKER, { workerData: data, transferList: [data.port] });
  workers.push(worker);
  const events: Event[] = [];
  const waiting: ((e: Event) => void)[] = [];
  worker.on('message', (e: Event) => {
    const w = waiting.shift();
    if (w) w(e);
    else events.push(e);
  });
  worker.on('error', (err) => {
    const w = waiting.shift();
    w?.({ event: 'crash', value: String(err) });
  });
  /** The worker's next event, or a rejection after `timeoutMs`. */
  const next = (timeoutMs = 5000): Promise<Event> => {
    const queued = events.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no worker event in ${timeoutMs} ms`)), timeoutMs);
      waiting.push((e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });
  };
  return { worker, next };
}

function system(options: ConstructorParameters<typeof ActorSystem>[0] = {}): ActorSystem {
  const s = new ActorSystem({ onError: () => {}, ...options });
  systems.push(s);
  return s;
}

const serverSeed = randomBytes(32);
const serverId = Identity.fromSeed(serverSeed);
const mainId = Identity.generate();

/** A keyed worker host and a ref to its `lab` from a main-thread system with `id`. */
async function keyedLab(id = mainId, pin = serverId.id, extra: Record<string, unknown> = {}) {
  const { port1, port2 } = new MessageChannel();
  const host = start({
    role: 'host',
    port: port2,
    seed: serverSeed,
    clients: [{ key: mainId.id, name: 'main' }],
    ...extra,
  });
  const client = system({ identity: id });
  const lab = client.ref<Lab>('lab', { messagePort: port1, key: pin });
  return { ...host, client, lab };
}

describe('actors in a worker_threads worker, over a MessagePort', () => {
  it('a unary call, with the caller identified by its key', async () => {
    const { lab, next } = await keyedLab();
    assert.equal(await lab.add(2, 3), 5);
    assert.equal((await next()).event, 'ready');
    assert.equal(await lab.whoami(), 'main');
  });

  it('an error keeps its code and reason', async () => {
    const { lab } = await keyedLab();
    await assert.rejects(
      async () => await lab.fail(),
      (e: unknown) => isRpcError(e, 'FAILED_PRECONDITION') && e.reason === 'FROZEN',
    );
  });

  it("a stream, then unsubscribe: the worker's source is torn down", async () => {
    const { lab, next } = await keyedLab();
    assert.equal(await lab.add(0, 0), 0);
    assert.equal((await next()).event, 'ready');
    const got: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const sub = lab.ticks(5).subscribe({
        next: (n) => {
          got.push(n);
          if (got.length === 3) {
            sub.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    assert.deepEqual(got, [0, 1, 2]);
    assert.equal((await next()).event, 'teardown');
  });

  it('a callback the worker calls back', async () => {
    const { lab } = await keyedLab();
    assert.deepEqual(await lab.table(3, async (i) => `${i} x 7 = ${i * 7}`), [
      '1 x 7 = 7',
      '2 x 7 = 14',
      '3 x 7 = 21',
    ]);
  });

  it('bytes both ways: a Readable up, one down, sha256 intact', async () => {
    const { lab } = await keyedLab();
    const up = randomBytes(3 * 1024 * 1024);
    assert.equal(await lab.sha256(Readable.from([up])), sha(up));
    const down = await lab.download(2 * 1024 * 1024 + 17);
    const chunks: Buffer[] = [];
    for await (const c of down) chunks.push(c as Buffer);
    const all = Buffer.concat(chunks);
    assert.equal(all.length, 2 * 1024 * 1024 + 17);
    assert.equal(all[70_000], (70_000 % (64 * 1024)) % 251);
  });

  it('portWindowBytes: a 4 KiB window carries a 2 MiB upload intact, a window at a time', async () => {
    const { lab } = await keyedLab(mainId, serverId.id, { portWindowBytes: 4096 });
    const up = randomBytes(2 * 1024 * 1024);
    assert.equal(await lab.sha256(Readable.from([up])), sha(up));
  });

  it('the worker terminated mid-call: the call fails UNAVAILABLE, then the ref does too, no hang', async () => {
    const { lab, next, worker } = await keyedLab();
    const call = Promise.resolve(lab.hang());
    call.catch(() => {});
    assert.equal((await next()).event, 'ready');
    assert.equal((await next()).event, 'hanging');
    const started = Date.now();
    await worker.terminate();
    await assert.rejects(call, (e: unknown) => isRpcError(e, 'UNAVAILABLE'));
    assert.ok(Date.now() - started < 2000, 'failed within 2 s');
    await assert.rejects(
      async () => await lab.add(1, 1),
      (e: unknown) => isRpcError(e, 'UNAVAILABLE'),
    );
  });

  it('an unauthorized key is refused: UNAUTHENTICATED on the caller, the worker refuses too', async () => {
    const stranger = Identity.generate();
    const { lab, next } = await keyedLab(stranger);
    await assert.rejects(
      async () => await lab.add(1, 2),
      (e: unknown) => isRpcError(e, 'UNAUTHENTICATED') && /UNKNOWN_KEY/.test(e.message),
    );
    const refused = await next();
    assert.equal(refused.event, 'refused');
    assert.equal(refused.code, 'UNAUTHENTICATED');
  });

  it('a wrong pinned key is refused: UNAUTHENTICATED', async () => {
    const { lab } = await keyedLab(mainId, Identity.generate().id);
    await assert.rejects(
      async () => await lab.add(1, 2),
      (e: unknown) =>
        isRpcError(e, 'UNAUTHENTICATED') && /SERVER_KEY_MISMATCH|not the pinned/.test(e.message),
    );
  });

  it('insecure on both sides: calls work, with no caller identity', async () => {
    const { port1, port2 } = new MessageChannel();
    start({ role: 'host', port: port2 });
    const lab = system().ref<Lab>('lab', { messagePort: port1, insecure: true });
    assert.equal(await lab.add(20, 22), 42);
    assert.equal(await lab.whoami(), 'nobody');
  });

  it('a keyed peer without an identity, or without a key, is INVALID_ARGUMENT', async () => {
    const { port1 } = new MessageChannel();
    await assert.rejects(
      async () => await system().ref<Lab>('lab', { messagePort: port1, key: serverId.id }).add(1, 1),
      (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT'),
    );
    await assert.rejects(
      async () => await system({ identity: mainId }).ref<Lab>('lab', { messagePort: port1 }).add(1, 1),
      (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT'),
    );
    port1.close();
  });
});

@actor('greeter')
class Greeter {
  hello(name: string): string {
    return `hello ${name}, from ${callContext().caller?.name ?? 'nobody'}'s host`;
  }
}

describe('the reverse: the main thread hosts actors, a worker calls them', () => {
  it('a worker calls an actor the main thread serves on a port, keyed', async () => {
    const workerSeed = randomBytes(32);
    const workerId = Identity.fromSeed(workerSeed);
    const main = system({ identity: serverId, authorizedKeys: [{ key: workerId.id, name: 'worker-1' }] });
    await main.register(Greeter);
    const { port1, port2 } = new MessageChannel();
    const serving = main.servePort(port1);
    const { next } = start({ role: 'caller', port: port2, seed: workerSeed, serverKey: serverId.id });
    await serving;
    const answer = await next();
    assert.deepEqual(answer, { event: 'result', value: "hello worker, from worker-1's host" });
  });

  it('servePort on a port that already carried a connection is UNAVAILABLE', async () => {
    const main = system({ identity: serverId, authorizedKeys: [] });
    const { port1 } = new MessageChannel();
    const first = main.servePort(port1, { handshakeTimeoutMs: 50 });
    await assert.rejects(main.servePort(port1), (e: unknown) => isRpcError(e, 'UNAVAILABLE'));
    await assert.rejects(first, (e: unknown) => (e as { code?: string }).code === 'HANDSHAKE_TIMEOUT');
  });
});

function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
