/**
 * Calls v2 over real TLS 1.3, one spec per finding of issue 10 (each failed on protocol v1):
 *
 * 1. the context comes from the call: a peer's extra argument stays an argument, and a method-wrapping
 *    decorator does not move the context into a parameter (v1 placed it by Function.length);
 * 2. each invocation is exactly one call: subscribing a tick later, or awaiting a stream method, runs the
 *    handler once (v1 guessed at the next microtask and ran it twice);
 * 3. a ref returned by a handler, alone or inside values, arrives as a ref (v1: an Observable);
 * 4. a callback is an async function locally and remotely (v1: a thenable remotely, a value locally);
 * 5. deadlines and cancellation flow into the calls a handler makes, remote and local (v1: the first
 *    hop only);
 * 6. a push source of ordinary size (`range(0, 100_000)`) streams whole (v1: RESOURCE_EXHAUSTED after
 *    1,024 items).
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { count, interval, lastValueFrom, map, type Observable, range, take, toArray } from 'rxjs';
import {
  ActorSystem,
  actor,
  callContext,
  isRef,
  isRpcError,
  type Peer,
  type Ref,
  type RpcError,
} from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

/** Wraps a method as a logging decorator would: `(...args)`, so its Function.length is 0. */
function wrapped(_target: object, _key: string, descriptor: PropertyDescriptor): void {
  const inner = descriptor.value as (...args: unknown[]) => unknown;
  descriptor.value = function (this: unknown, ...args: unknown[]) {
    return inner.apply(this, args);
  };
}

const seen = { ticks: 0, notes: [] as string[] };

@actor('bank')
class Bank {
  transfer(
    amount: number,
    ...rest: unknown[]
  ): { caller: string | undefined; amount: number; rest: unknown[] } {
    return { caller: callContext().caller.name, amount, rest };
  }
  @wrapped
  audited(amount: number): { caller: string | undefined; amount: number } {
    return { caller: callContext().caller.name, amount };
  }
  ticks(n: number): Observable<number> {
    seen.ticks++;
    return interval(1).pipe(take(n));
  }
  note(text: string): void {
    seen.notes.push(text);
  }
  range(n: number): Observable<{ seq: number }> {
    return range(0, n).pipe(map((seq) => ({ seq })));
  }
}

@actor('printer')
class Printer {
  print(text: string): string {
    return `printed ${text}`;
  }
}

@actor('directory')
class Directory {
  constructor(private readonly system: ActorSystem) {}
  printer(): Ref<Printer> {
    return this.system.ref<Printer>('printer');
  }
  printers(): { main: Ref<Printer>; all: Ref<Printer>[] } {
    const p = this.system.ref<Printer>('printer');
    return { main: p, all: [p, p] };
  }
  async apply(f: (x: number) => Promise<number>, x: number): Promise<{ promise: boolean; plusOne: number }> {
    const r = f(x);
    return { promise: r instanceof Promise, plusOne: (await r) + 1 };
  }
}

/** What the last hop's handler saw. */
const back = { started: 0, aborted: [] as { after: number; code: string }[] };

@actor('back')
class Back {
  async slow(ms: number): Promise<string> {
    const { signal } = callContext();
    const start = Date.now();
    back.started++;
    try {
      await sleep(ms, undefined, { signal });
      return 'done';
    } catch (err) {
      back.aborted.push({ after: Date.now() - start, code: (signal.reason as RpcError).code });
      throw err;
    }
  }
}

/** Where the front actor finds the back actor (set per spec). */
const route: { peer: Peer | undefined } = { peer: undefined };

@actor('front')
class Front {
  constructor(private readonly system: ActorSystem) {}
  /** A second hop to another node: it inherits this call's deadline and cancellation. */
  relay(ms: number): Promise<string> {
    return this.system.ref<Back>('back', route.peer).slow(ms);
  }
  /** A second hop in this node. */
  local(ms: number): Promise<string> {
    return this.system.ref<Back>('back').slow(ms);
  }
}

let p: Pair | undefined;
let third: ActorSystem | undefined;
afterEach(async () => {
  await p?.close();
  await third?.close();
  p = undefined;
  third = undefined;
  route.peer = undefined;
});

const code = (c: string) => (e: unknown) => isRpcError(e, c as never);

describe('calls v2: the context comes from the call (issue 10 #1)', () => {
  it('an extra argument is an argument; the caller is the connection’s identity', async () => {
    p = await pair();
    await p.server.register(Bank);
    const bank = p.client.ref<Record<string, (...a: unknown[]) => Promise<unknown>>>('bank', p.peer);
    const forged = { caller: { name: 'admin', id: 'x', local: true }, actor: 'bank', method: 'transfer' };
    assert.deepEqual(await bank.transfer!(5, forged), { caller: 'alice', amount: 5, rest: [forged] });
    assert.deepEqual(await bank.transfer!(5), { caller: 'alice', amount: 5, rest: [] });
  });

  it('a method-wrapping decorator (length 0) sees the caller too, and only the arguments sent', async () => {
    p = await pair();
    await p.server.register(Bank);
    const bank = p.client.ref<Record<string, (...a: unknown[]) => Promise<unknown>>>('bank', p.peer);
    assert.deepEqual(await bank.audited!(7, { caller: { name: 'admin' } }), { caller: 'alice', amount: 7 });
    assert.deepEqual(await p.server.ref<Bank>('bank').audited(7), { caller: undefined, amount: 7 });
  });
});

describe('calls v2: each invocation is exactly one call (issue 10 #2)', () => {
  it('subscribing a tick later, or awaiting the stream, runs the handler once', async () => {
    p = await pair();
    await p.server.register(Bank);
    const bank = p.client.ref<Bank>('bank', p.peer);
    seen.ticks = 0;
    const later = bank.ticks(3);
    await sleep(20);
    assert.deepEqual(await lastValueFrom(later.pipe(toArray())), [0, 1, 2]);
    assert.equal(seen.ticks, 1, 'subscribed later: one call');
    const awaited = await bank.ticks(2);
    assert.equal(isRef(awaited), false);
    assert.deepEqual(await lastValueFrom(awaited.pipe(toArray())), [0, 1]);
    assert.equal(seen.ticks, 2, 'awaited, then subscribed: one more call');
    // A second subscription to the same result is a new call.
    assert.deepEqual(await lastValueFrom(awaited.pipe(toArray())), [0, 1]);
    assert.equal(seen.ticks, 3);
  });

  it('a call nobody awaits still runs, once', async () => {
    p = await pair();
    await p.server.register(Bank);
    const bank = p.client.ref<Bank>('bank', p.peer);
    seen.notes = [];
    void bank.note('fire and forget');
    await eventually(() => seen.notes.length === 1, 'the call to run');
    await sleep(20);
    assert.deepEqual(seen.notes, ['fire and forget']);
  });
});

describe('calls v2: refs and callbacks (issue 10 #3, #4)', () => {
  it('a ref returned by a handler arrives as a ref, alone or inside values', async () => {
    p = await pair();
    await p.server.register(Printer);
    await p.server.register(Directory);
    const dir = p.client.ref<Directory>('directory', p.peer);
    const printer = await dir.printer();
    assert.ok(isRef(printer));
    assert.equal(await printer.print('a'), 'printed a');
    const { main, all } = await dir.printers();
    assert.ok(isRef(main) && all.every(isRef));
    assert.deepEqual(await Promise.all([main.print('b'), ...all.map((r) => r.print('c'))]), [
      'printed b',
      'printed c',
      'printed c',
    ]);
  });

  it('a callback is an async function for the handler, locally and remotely', async () => {
    p = await pair();
    await p.server.register(Directory);
    const triple = (x: number) => x * 3;
    const remote = await p.client.ref<Directory>('directory', p.peer).apply(async (x) => triple(x), 3);
    const local = await p.server.ref<Directory>('directory').apply(async (x) => triple(x), 3);
    assert.deepEqual(remote, { promise: true, plusOne: 10 });
    assert.deepEqual(local, remote);
    // A plain (synchronous) function too: the handler still gets a promise.
    const plain = p.server.ref<Directory>('directory').apply(triple as never, 3);
    assert.deepEqual(await plain, { promise: true, plusOne: 10 });
  });
});

describe('calls v2: deadlines and cancellation flow (issue 10 #5)', () => {
  async function threeNodes(): Promise<void> {
    p = await pair();
    const backId = Identity.generate();
    third = new ActorSystem({
      identity: backId,
      authorizedKeys: [{ key: p.serverId.id, name: 'front' }],
      config: { closeTimeoutMs: 300 },
    });
    await third.register(Back);
    const { port } = await third.listen();
    route.peer = { host: '127.0.0.1', port, key: backId.id };
    await p.server.register(Front);
    await p.server.register(Back);
    back.started = 0;
    back.aborted = [];
  }

  it('the outer deadline ends the inner call, on another node and in this one', async () => {
    await threeNodes();
    const front = p!.client.ref<Front>('front', p!.peer).withOptions({ timeoutMs: 200 });
    for (const hop of ['relay', 'local'] as const) {
      back.aborted = [];
      const started = Date.now();
      await assert.rejects(front[hop](2_000), code('DEADLINE_EXCEEDED'));
      assert.ok(Date.now() - started < 1_000, `${hop}: the caller's deadline`);
      await eventually(() => back.aborted.length === 1, `${hop}: the inner handler to be aborted`, 2_000);
      const [inner] = back.aborted;
      assert.ok(inner!.after < 500, `${hop}: inner aborted after ${inner!.after} ms, not its full 2 s`);
      assert.equal(inner!.code, 'DEADLINE_EXCEEDED', hop);
    }
  });

  it('cancelling the outer call cancels the inner one', async () => {
    await threeNodes();
    for (const hop of ['relay', 'local'] as const) {
      back.aborted = [];
      const started = back.started;
      const ac = new AbortController();
      const call = p!.client.ref<Front>('front', p!.peer).withOptions({ signal: ac.signal })[hop](5_000);
      await eventually(() => back.started === started + 1, `${hop}: the inner call to start`);
      ac.abort();
      await assert.rejects(call, code('CANCELLED'));
      await eventually(() => back.aborted.length === 1, `${hop}: the inner handler to be cancelled`, 2_000);
      assert.equal(back.aborted[0]!.code, 'CANCELLED', hop);
    }
  });
});

describe('calls v2: a push source of ordinary size streams whole (issue 10 #6)', () => {
  it('range(0, 100_000) of { seq } completes, remotely as locally', async () => {
    p = await pair();
    await p.server.register(Bank);
    const remote = p.client.ref<Bank>('bank', p.peer);
    assert.equal(await lastValueFrom(remote.range(100_000).pipe(count())), 100_000);
    const local = p.server.ref<Bank>('bank');
    assert.equal(await lastValueFrom(local.range(100_000).pipe(count())), 100_000);
  });
});
