/**
 * Two actor systems over WebSocket on 127.0.0.1 (`listen({ websocket })`, refs by URL): unary calls
 * and typed errors, a stream and its teardown, a callback, an actor ref passed, byte streams both
 * ways, deadlines; attached to an existing http server at a path; an unauthorized key refused.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, Observable, take, toArray } from 'rxjs';
import { ActorSystem, actor, callContext, isRpcError, type Ref, rpcError } from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';
import type { RefusedEvent } from '../../src/transport/connection/index.js';
import { eventually } from './actors-pair.js';

@actor('ticker')
class Ticker {
  static tornDown = 0;
  static callers: (string | undefined)[] = [];
  add(a: number, b: number): number {
    Ticker.callers.push(callContext().caller.name);
    return a + b;
  }
  fail(): never {
    throw rpcError('FAILED_PRECONDITION', 'no such order', { reason: 'ORDER_MISSING' });
  }
  ticks(): Observable<number> {
    return new Observable<number>((s) => {
      let i = 0;
      const timer = setInterval(() => s.next(i++), 5);
      return () => {
        clearInterval(timer);
        Ticker.tornDown++;
      };
    });
  }
  async each(n: number, cb: (i: number) => Promise<number>): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await cb(i));
    return out;
  }
  async greet(other: Ref<Echo>): Promise<string> {
    return other.echo('from the server');
  }
  async sha256(data: Readable): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of data) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }
  download(size: number): Readable {
    return Readable.from(
      (function* () {
        for (let left = size; left > 0; left -= 50_000)
          yield Buffer.alloc(Math.min(left, 50_000), left % 251);
      })(),
    );
  }
  async slow(ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return 'late';
  }
}

@actor('echo')
class Echo {
  echo(text: string): string {
    return `echo ${text}`;
  }
}

const serverId = Identity.generate();
const clientId = Identity.generate();
const quiet = { closeTimeoutMs: 300 };
const systems: ActorSystem[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function system(identity: Identity, extra: Partial<ConstructorParameters<typeof ActorSystem>[0]> = {}) {
  const s = new ActorSystem({
    identity,
    authorizedKeys: [{ key: clientId.id, name: 'alice' }],
    config: quiet,
    ...extra,
  });
  systems.push(s);
  return s;
}

async function start(): Promise<{ client: ActorSystem; ticker: Ref<Ticker>; url: string }> {
  const server = system(serverId);
  await server.register(Ticker);
  const { url } = await server.listen({ websocket: {} });
  assert.ok(url?.startsWith('ws://127.0.0.1:'));
  const client = system(clientId);
  await client.register(Echo);
  return { client, ticker: client.ref<Ticker>('ticker', { url: url!, key: serverId.id }), url: url! };
}

describe('actors over WebSocket', () => {
  it('unary calls and typed errors, the caller named by its authorized key', async () => {
    const { ticker } = await start();
    Ticker.callers = [];
    assert.equal(await ticker.add(2, 3), 5);
    assert.deepEqual(Ticker.callers, ['alice']);
    await assert.rejects(
      ticker.fail(),
      (e) => isRpcError(e, 'FAILED_PRECONDITION') && e.reason === 'ORDER_MISSING',
    );
  });

  it('a stream, then unsubscribe: the server sees the teardown', async () => {
    const { ticker } = await start();
    Ticker.tornDown = 0;
    assert.deepEqual(await lastValueFrom(ticker.ticks().pipe(take(3), toArray())), [0, 1, 2]);
    await eventually(() => Ticker.tornDown === 1, 'teardown on the server');
  });

  it('a callback and an actor ref passed to the server are called back over the same connection', async () => {
    const { client, ticker } = await start();
    assert.deepEqual(await ticker.each(3, async (i) => i * 2), [0, 2, 4]);
    assert.equal(await ticker.greet(client.ref<Echo>('echo')), 'echo from the server');
    assert.equal(client.stats().connections, 1);
  });

  it('bytes up and down (sha256 checked), and deadlines', async () => {
    const { ticker } = await start();
    const up = Buffer.alloc(1_000_000);
    for (let i = 0; i < up.length; i++) up[i] = (i * 31) % 256;
    const want = createHash('sha256').update(up).digest('hex');
    assert.equal(await ticker.sha256(Readable.from([up.subarray(0, 300_000), up.subarray(300_000)])), want);
    let total = 0;
    for await (const chunk of (await ticker.download(400_000)) as unknown as Readable)
      total += (chunk as Buffer).length;
    assert.equal(total, 400_000);
    await assert.rejects(ticker.withOptions({ timeoutMs: 50 }).slow(2_000), (e) =>
      isRpcError(e, 'DEADLINE_EXCEEDED'),
    );
  });

  it('attached to an existing http server at a path, which keeps serving its own requests', async () => {
    const web = http.createServer((_req, res) => res.end('hello page'));
    servers.push(web);
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    const port = (web.address() as { port: number }).port;
    const server = system(serverId);
    await server.register(Ticker);
    const { url } = await server.listen({ websocket: { server: web, path: '/api/rxchan' } });
    assert.equal(url, `ws://127.0.0.1:${port}/api/rxchan`);
    const client = system(clientId);
    assert.equal(await client.ref<Ticker>('ticker', { url: url!, key: serverId.id }).add(1, 1), 2);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await page.text(), 'hello page');
  });

  it('an unauthorized key is refused with a clear error; the server reports it', async () => {
    const refused: RefusedEvent[] = [];
    const server = system(serverId);
    await server.register(Ticker);
    const { url } = await server.listen({ websocket: {}, onRefused: (e) => refused.push(e) });
    const mallory = system(Identity.generate());
    await assert.rejects(
      mallory.ref<Ticker>('ticker', { url: url!, key: serverId.id }).add(1, 2),
      (e) => isRpcError(e, 'UNAUTHENTICATED') && /UNKNOWN_KEY/.test(e.message),
    );
    await eventually(() => refused.length === 1, 'the refusal reported');
    assert.equal(refused[0]!.reason, 'UNKNOWN_KEY');
    // A client pinning the wrong server key refuses the server.
    const client = system(clientId);
    await assert.rejects(
      client.ref<Ticker>('ticker', { url: url!, key: clientId.id }).add(1, 2),
      (e) => isRpcError(e, 'UNAUTHENTICATED') && /SERVER_KEY_MISMATCH/.test(e.message),
    );
  });

  it('a stream of the first value only (firstValueFrom) over WebSocket ends cleanly', async () => {
    const { ticker } = await start();
    Ticker.tornDown = 0;
    assert.equal(await firstValueFrom(ticker.ticks()), 0);
    await eventually(() => Ticker.tornDown === 1, 'teardown');
  });
});
