import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defer, firstValueFrom, lastValueFrom, Observable, of, toArray } from 'rxjs';
import { inject, Lifecycle, scoped } from 'tsyringe';
import {
  ACTOR_NAME,
  ActorSystem,
  actor,
  callContext,
  isRpcError,
  method,
  RpcError,
} from '../../../src/actors/index.js';

const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.close()));
});

function system(errors: unknown[] = []): ActorSystem {
  const s = new ActorSystem({ onError: (e) => errors.push(e), config: { closeTimeoutMs: 500 } });
  systems.push(s);
  return s;
}

const code = (c: string) => (e: unknown) => isRpcError(e, c as never);

@scoped(Lifecycle.ContainerScoped)
class Counter {
  n = 0;
}

@actor('calculator', { timeoutMs: 2000 })
class Calculator {
  /** Every instance by actor name, so specs can look inside. */
  static readonly instances = new Map<string, Calculator>();
  readonly log: string[] = [];
  seenSignals: AbortSignal[] = [];
  teardowns = 0;
  ticksCalls = 0;
  constructor(
    readonly counter: Counter,
    @inject(ACTOR_NAME) readonly name: string,
  ) {
    Calculator.instances.set(name, this);
  }

  add(a: number, b: number): number {
    return a + b;
  }
  async slowAdd(a: number, b: number): Promise<number> {
    const ctx = callContext();
    this.seenSignals.push(ctx.signal);
    await sleep(10_000, undefined, { signal: ctx.signal });
    return a + b;
  }
  whoami(): { local: boolean; method: string; deadline: boolean } {
    const ctx = callContext();
    return { local: ctx.caller.local, method: ctx.method, deadline: ctx.deadline !== undefined };
  }
  greet(name?: string): string {
    const ctx = callContext();
    return `${name ?? 'nobody'} via ${ctx?.method}`;
  }
  fail(kind: string): never {
    if (kind === 'rpc') throw new RpcError('INVALID_ARGUMENT', 'bad', { details: { kind } });
    throw new TypeError('plain failure');
  }
  increment(): number {
    return ++this.counter.n;
  }
  @method({ timeoutMs: 0 })
  ticks(n: number): Observable<number> {
    this.ticksCalls++;
    return new Observable<number>((s) => {
      let i = 0;
      const t = setInterval(() => {
        s.next(i++);
        if (i === n) s.complete();
      }, 1);
      return () => {
        clearInterval(t);
        this.teardowns++;
      };
    });
  }
  async *pages(n: number): AsyncGenerator<string> {
    for (let i = 0; i < n; i++) yield `page ${i}`;
  }
  record(entry: string, delay: number): Promise<void> {
    this.log.push(`start ${entry}`);
    return sleep(delay).then(() => {
      this.log.push(`end ${entry}`);
    });
  }
  mutate(point: { x: number }): void {
    point.x = 99;
  }
  async sum(xs: Observable<number>): Promise<number> {
    return lastValueFrom(xs.pipe(toArray())).then((a) => a.reduce((p, c) => p + c, 0));
  }
  async each(n: number, cb: (i: number) => Promise<number> | number): Promise<number> {
    let total = 0;
    for (let i = 0; i < n; i++) total += await cb(i);
    return total;
  }
}

describe('local refs', () => {
  it('call through the mailbox with the same API: value, stream, iteration, await of a stream', async () => {
    const s = system();
    await s.register(Calculator);
    const calc = s.ref<Calculator>('calculator');
    assert.equal(await calc.add(1, 2), 3);
    assert.deepEqual(await lastValueFrom(calc.ticks(3).pipe(toArray())), [0, 1, 2]);
    const pages: string[] = [];
    for await (const p of calc.pages(2)) pages.push(p);
    assert.deepEqual(pages, ['page 0', 'page 1']);
    const awaited = await calc.ticks(2);
    assert.deepEqual(await lastValueFrom(awaited.pipe(toArray())), [0, 1]);
    // The types say Promise, but the result is also an Observable: subscribed, a value is one item.
    const asStream = calc.add(2, 2) as unknown as Observable<number>;
    assert.deepEqual(await lastValueFrom(asStream.pipe(toArray())), [4]);
  });

  it('fail NOT_FOUND for an unknown actor and UNIMPLEMENTED for an unknown or hidden method', async () => {
    const s = system();
    await s.register(Calculator);
    await assert.rejects(s.ref<Calculator>('nobody').add(1, 2), code('NOT_FOUND'));
    const calc = s.ref<Calculator>('calculator') as unknown as Record<string, () => Promise<unknown>>;
    const call = (name: string) => calc[name]!();
    for (const name of ['nothing', 'constructor', 'onStart', 'toString', 'hasOwnProperty', '__proto__']) {
      await assert.rejects(call(name), code('UNIMPLEMENTED'), name);
    }
    await assert.rejects(firstValueFrom(s.ref<Calculator>('nobody').ticks(1)), code('NOT_FOUND'));
  });

  it('fail only the call whose handler throws: RpcError as thrown, anything else INTERNAL with its message', async () => {
    const s = system();
    await s.register(Calculator);
    const calc = s.ref<Calculator>('calculator');
    await assert.rejects(
      calc.fail('rpc'),
      (e) => isRpcError(e, 'INVALID_ARGUMENT') && (e.details as { kind: string }).kind === 'rpc',
    );
    await assert.rejects(
      calc.fail('plain'),
      // A local caller is this process: nothing is masked, the original error is the cause.
      (e) =>
        isRpcError(e, 'INTERNAL') &&
        e.message === 'plain failure' &&
        e.cause instanceof Error &&
        e.errorId === undefined,
    );
    assert.equal(await calc.add(2, 3), 5);
  });

  it('pass the context last, stripped from the ref, padded after optional arguments', async () => {
    const s = system();
    await s.register(Calculator);
    const calc = s.ref<Calculator>('calculator');
    assert.deepEqual(await calc.whoami(), { local: true, method: 'whoami', deadline: true });
    assert.equal(await calc.greet(), 'nobody via greet');
    assert.equal(await calc.greet('ada'), 'ada via greet');
  });

  it('deadline: the handler signal aborts and the caller gets DEADLINE_EXCEEDED', async () => {
    const s = system();
    await s.register(Calculator);
    const calc = s.ref<Calculator>('calculator');
    await assert.rejects(calc.withOptions({ timeoutMs: 30 }).slowAdd(1, 2), code('DEADLINE_EXCEEDED'));
    const instanceSignals = instanceOf().seenSignals;
    assert.ok(instanceSignals.at(-1)!.aborted);
    assert.ok(isRpcError(instanceSignals.at(-1)!.reason, 'DEADLINE_EXCEEDED'));
  });

  it('cancellation: an AbortSignal rejects with CANCELLED and aborts the handler signal', async () => {
    const s = system();
    await s.register(Calculator);
    const calc = s.ref<Calculator>('calculator');
    const ac = new AbortController();
    const pending = calc.withOptions({ signal: ac.signal }).slowAdd(1, 2);
    await sleep(10);
    ac.abort();
    await assert.rejects(pending, code('CANCELLED'));
    assert.ok(instanceOf().seenSignals.at(-1)!.aborted);
  });

  it('unsubscribing tears the source down', async () => {
    const s = system();
    await s.register(Calculator);
    const calc = s.ref<Calculator>('calculator');
    const got = await firstValueFrom(calc.ticks(1000));
    assert.equal(got, 0);
    await sleep(5);
    assert.equal(instanceOf().teardowns, 1);
  });

  it('handles one message at a time, in order', async () => {
    const s = system();
    await s.register(Calculator);
    const calc = s.ref<Calculator>('calculator');
    await Promise.all([calc.record('a', 20), calc.record('b', 1), calc.record('c', 5)]);
    assert.deepEqual(instanceOf().log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('runs a call nobody awaits (fire and forget), once', async () => {
    const s = system();
    await s.register(Calculator);
    const calc = s.ref<Calculator>('calculator');
    calc.increment();
    await sleep(5);
    const p = calc.increment();
    assert.equal(await p, 2);
    assert.equal(await p, 2, 'awaiting twice does not call twice');
    assert.equal(await firstValueFrom(defer(() => calc.increment())), 3);
  });

  it('passes arguments by reference (not copied); streams and callbacks as they are', async () => {
    const s = system();
    await s.register(Calculator);
    const calc = s.ref<Calculator>('calculator');
    const point = { x: 1 };
    await calc.mutate(point);
    assert.equal(point.x, 99);
    assert.equal(await calc.sum(of(1, 2, 3)), 6);
    assert.equal(await calc.each(4, (i) => i * 10), 60);
  });

  it('gives each actor a child container: scoped dependencies and its own name', async () => {
    const s = system();
    await s.register(Calculator);
    await s.register('calculator2', Calculator);
    const one = s.ref<Calculator>('calculator');
    const two = s.ref<Calculator>('calculator2');
    assert.equal(await one.increment(), 1);
    assert.equal(await one.increment(), 2);
    assert.equal(await two.increment(), 1, 'another actor, another Counter');
    assert.equal(instanceOf('calculator2').name, 'calculator2');
  });
});

/** Injects the system, and relays another actor's stream by returning it (no await). */
@actor('relay')
class Relay {
  constructor(private readonly system: ActorSystem) {}
  relay(n: number) {
    return this.system.ref<Calculator>('calculator').ticks(n);
  }
}

describe('refs inside actors', () => {
  it('an actor returning another ref stream relays it with one call per subscription', async () => {
    const s = system();
    await s.register(Calculator);
    await s.register(Relay);
    const relay = s.ref<Relay>('relay');
    assert.deepEqual(await lastValueFrom(relay.relay(3).pipe(toArray())), [0, 1, 2]);
    assert.equal(instanceOf().ticksCalls, 1, 'no extra unary call was made for the relayed stream');
  });
});

@actor('lifecycle')
class Lifecycled {
  static events: string[] = [];
  async onStart(): Promise<void> {
    await sleep(5);
    Lifecycled.events.push('start');
  }
  ping(): string {
    Lifecycled.events.push('ping');
    return 'pong';
  }
  onStop(): void {
    Lifecycled.events.push('stop');
  }
}

@actor('broken')
class Broken {
  onStart(): void {
    throw new Error('cannot start');
  }
  ping(): string {
    return 'pong';
  }
}

@actor('slowpoke', { concurrency: 2 })
class Slowpoke {
  active = 0;
  max = 0;
  async work(): Promise<void> {
    this.active++;
    this.max = Math.max(this.max, this.active);
    await sleep(10);
    this.active--;
  }
  peak(): number {
    return this.max;
  }
}

describe('actor lifecycle', () => {
  it('runs onStart before any call and onStop on close', async () => {
    Lifecycled.events = [];
    const s = system();
    void s.register(Lifecycled);
    assert.equal(await s.ref<Lifecycled>('lifecycle').ping(), 'pong');
    await s.close();
    assert.deepEqual(Lifecycled.events, ['start', 'ping', 'stop']);
    await assert.rejects(s.ref<Lifecycled>('lifecycle').ping(), code('UNAVAILABLE'));
  });

  it('reports an actor whose start fails and does not serve it', async () => {
    const errors: unknown[] = [];
    const s = system(errors);
    // A call starts when it is made: before the register, there is no such actor yet.
    const early = s.ref<Broken>('broken').ping();
    const registered = s.register(Broken);
    const pending = s.ref<Broken>('broken').ping();
    await assert.rejects(early, code('NOT_FOUND'));
    await assert.rejects(registered, /cannot start/);
    await assert.rejects(pending, code('UNAVAILABLE'));
    await assert.rejects(s.ref<Broken>('broken').ping(), code('UNAVAILABLE'));
    assert.equal(errors.length, 1);
    assert.ok(isRpcError(errors[0], 'UNAVAILABLE'));
  });

  it('runs up to `concurrency` messages at once when the actor declares it', async () => {
    const s = system();
    await s.register(Slowpoke);
    const ref = s.ref<Slowpoke>('slowpoke');
    await Promise.all([ref.work(), ref.work(), ref.work(), ref.work()]);
    assert.equal(await ref.peak(), 2);
  });

  it('refuses a second actor under the same name', async () => {
    const s = system();
    await s.register(Slowpoke);
    assert.throws(() => s.register(Slowpoke), code('INVALID_ARGUMENT'));
  });
});

/** The latest Calculator instance registered under `name`. */
function instanceOf(name = 'calculator'): Calculator {
  return Calculator.instances.get(name)!;
}
