/**
 * Interceptors over real TLS 1.3 on 127.0.0.1: server interceptors see the call (context, arguments),
 * run in order, may refuse it or change its arguments, and hear its end (a value, an error, a stream's
 * completion or cancel); client interceptors add metadata and deadlines, retry, answer from a cache, and
 * observe the end. Local refs go through both sides too.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { interval, lastValueFrom, type Observable, take, toArray } from 'rxjs';
import {
  ActorSystem,
  actor,
  type CallEnd,
  type ClientInterceptor,
  callContext,
  type Interceptors,
  isRpcError,
  type Ref,
  rpcError,
  type ServerInterceptor,
} from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

const log: string[] = [];
let failNext = 0;

@actor('shop')
class Shop {
  price(item: string, qty: number): number {
    log.push(`handler price ${item} ${qty}`);
    return qty * 3;
  }
  whoami(): { caller: string | undefined; metadata: Record<string, string>; deadline: boolean } {
    const ctx = callContext();
    return { caller: ctx.caller.name, metadata: { ...ctx.metadata }, deadline: ctx.deadline !== undefined };
  }
  flaky(): string {
    if (failNext > 0) {
      failNext--;
      throw rpcError('UNAVAILABLE', 'try again');
    }
    return 'ok';
  }
  fail(): never {
    throw rpcError('INVALID_ARGUMENT', 'nope');
  }
  ticks(n: number): Observable<number> {
    return interval(5).pipe(take(n));
  }
  async notify(cb: (text: string) => Promise<string>): Promise<string> {
    return cb('hello');
  }
}

/** A server interceptor that records what it sees and how the call ends. */
function recorder(name: string, ends: CallEnd[]): ServerInterceptor {
  return (call, next) => {
    const { actor: a, method: m, caller } = call.context;
    log.push(
      `${name} ${a}.${m} ${caller.name ?? (caller.local ? 'local' : '?')} ${JSON.stringify(call.args)}`,
    );
    call.onEnd((end) => ends.push(end));
    return next();
  };
}

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
  log.length = 0;
  failNext = 0;
});

async function setup(server: Interceptors[], client: Interceptors[]): Promise<{ shop: Ref<Shop>; p: Pair }> {
  p = await pair({ server: { interceptors: server }, client: { interceptors: client } });
  await p.server.register(Shop);
  return { shop: p.client.ref<Shop>('shop', p.peer), p };
}

describe('server interceptors', () => {
  it('see the context and arguments, in the order registered, and hear each end', async () => {
    const ends: CallEnd[] = [];
    const { shop } = await setup(
      [{ server: recorder('first', ends) }, { server: recorder('second', []) }],
      [],
    );
    assert.equal(await shop.price('pen', 2), 6);
    assert.deepEqual(log, [
      'first shop.price alice ["pen",2]',
      'second shop.price alice ["pen",2]',
      'handler price pen 2',
    ]);
    await eventually(() => ends.length === 1, 'the end');
    assert.deepEqual(ends[0], { code: 'OK', stream: false });
  });

  it('refuse a call by throwing: the caller gets the error and the handler never runs', async () => {
    const refuse: ServerInterceptor = (call, next) => {
      if (call.context.metadata.token !== 'secret') throw rpcError('UNAUTHENTICATED', 'no token');
      return next();
    };
    const { shop } = await setup([{ server: refuse }], []);
    await assert.rejects(
      shop.price('pen', 1),
      (e) => isRpcError(e, 'UNAUTHENTICATED') && /no token/.test(e.message),
    );
    assert.deepEqual(log, []);
    assert.equal(await shop.withOptions({ metadata: { token: 'secret' } }).price('pen', 1), 3);
  });

  it('pass changed arguments on with next(args), and may map the result', async () => {
    const double: ServerInterceptor = (call, next) => {
      const [item, qty] = call.args as [string, number];
      return (next([item, qty * 2]) as number) + 1;
    };
    const { shop } = await setup([{ server: double }], []);
    assert.equal(await shop.price('pen', 2), 13);
  });

  it('may be async: the call waits, and the actor still takes one call at a time, in order', async () => {
    const slow: ServerInterceptor = async (call, next) => {
      await sleep(call.args[1] === 1 ? 30 : 0);
      return next();
    };
    const { shop } = await setup([{ server: slow }], []);
    const results = await Promise.all([shop.price('a', 1), shop.price('b', 2), shop.price('c', 3)]);
    assert.deepEqual(results, [3, 6, 9]);
    assert.deepEqual(log, ['handler price a 1', 'handler price b 2', 'handler price c 3']);
  });

  it('hear an error end with its code, a stream that completes, and a stream the caller cancels', async () => {
    const ends: CallEnd[] = [];
    const { shop } = await setup([{ server: recorder('r', ends) }], []);
    await assert.rejects(shop.fail(), (e) => isRpcError(e));
    assert.deepEqual(await lastValueFrom(shop.ticks(3).pipe(toArray())), [0, 1, 2]);
    const sub = shop.ticks(1000).subscribe();
    await eventually(() => log.length === 3, 'the third call');
    await sleep(20);
    sub.unsubscribe();
    await eventually(() => ends.length === 3, 'three ends');
    assert.equal(ends[0]!.code, 'INVALID_ARGUMENT');
    assert.equal(ends[0]!.stream, false);
    assert.deepEqual(ends[1], { code: 'OK', stream: true });
    assert.equal(ends[2]!.code, 'CANCELLED');
    assert.equal(ends[2]!.stream, true);
  });

  it('calling next() twice is refused with INTERNAL', async () => {
    const twice: ServerInterceptor = (_call, next) => {
      next();
      return next();
    };
    const { shop } = await setup([{ server: twice }], []);
    await assert.rejects(shop.price('pen', 1), (e) => isRpcError(e, 'INTERNAL'));
  });

  it('also run for a callback a peer calls (actor and method are empty)', async () => {
    const { p } = await setup([], []);
    const client = new ActorSystem({
      identity: p.clientId,
      interceptors: [{ server: recorder('cb', []) }],
      config: { closeTimeoutMs: 300 },
    });
    try {
      const viaClient = client.ref<Shop>('shop', p.peer);
      assert.equal(await viaClient.notify(async (t) => `${t} back`), 'hello back');
      assert.deepEqual(log, ['cb . ? ["hello"]']);
    } finally {
      await client.close();
    }
  });
});

describe('client interceptors', () => {
  it('add metadata and a deadline that the handler sees', async () => {
    const tag: ClientInterceptor = (call, next) =>
      next({
        ...call,
        options: {
          ...call.options,
          timeoutMs: 5_000,
          metadata: { ...call.options.metadata, 'request-id': 'r-1' },
        },
      });
    const { shop } = await setup([], [{ client: tag }]);
    assert.deepEqual(await shop.whoami(), {
      caller: 'alice',
      metadata: { 'request-id': 'r-1' },
      deadline: true,
    });
  });

  it('run in order, and the first one sees the call first', async () => {
    const order: string[] = [];
    const mark =
      (name: string): ClientInterceptor =>
      (call, next) => {
        order.push(`${name} ${call.actor}.${call.method} ${call.peer?.host}`);
        return next(call);
      };
    const { shop } = await setup([], [{ client: mark('a') }, { client: mark('b') }]);
    await shop.price('x', 1);
    assert.deepEqual(order, ['a shop.price 127.0.0.1', 'b shop.price 127.0.0.1']);
  });

  it('retry a call that failed UNAVAILABLE by calling next again', async () => {
    let attempts = 0;
    const retry: ClientInterceptor = async (call, next) => {
      for (let i = 0; ; i++) {
        attempts++;
        try {
          return await next(call);
        } catch (err) {
          if (!isRpcError(err, 'UNAVAILABLE') || i === 2) throw err;
        }
      }
    };
    const { shop } = await setup([], [{ client: retry }]);
    failNext = 2;
    assert.equal(await shop.flaky(), 'ok');
    assert.equal(attempts, 3);
    failNext = 5;
    await assert.rejects(shop.flaky(), (e) => isRpcError(e, 'UNAVAILABLE'));
  });

  it('hand a stream on when they await the call, and observe its end with onEnd', async () => {
    const ends: CallEnd[] = [];
    const observe: ClientInterceptor = (call, next) => {
      const c = next(call);
      c.onEnd((end) => ends.push(end));
      return c;
    };
    const awaiting: ClientInterceptor = async (call, next) => await next(call);
    const { shop } = await setup([], [{ client: awaiting }, { client: observe }]);
    assert.deepEqual(await lastValueFrom(shop.ticks(3).pipe(toArray())), [0, 1, 2]);
    assert.equal(await shop.price('y', 2), 6);
    await assert.rejects(shop.fail());
    assert.deepEqual(
      ends.map((e) => [e.code, e.stream]),
      [
        ['OK', true],
        ['OK', false],
        ['INVALID_ARGUMENT', false],
      ],
    );
  });

  it('may answer without calling (a cache), or fail the call by throwing', async () => {
    const cache: ClientInterceptor = (call, next) => {
      if (call.method === 'price' && call.args[0] === 'cached') return 42;
      if (call.method === 'price' && call.args[0] === 'bad') throw new Error('interceptor bug');
      return next(call);
    };
    const { shop } = await setup([], [{ client: cache }]);
    assert.equal(await shop.price('cached', 1), 42);
    await assert.rejects(shop.price('bad', 1), (e) => isRpcError(e, 'INTERNAL'));
    assert.equal(await shop.price('fresh', 1), 3);
    assert.deepEqual(log, ['handler price fresh 1']);
  });
});

describe('local refs', () => {
  it('go through the client and server interceptors too', async () => {
    const ends: CallEnd[] = [];
    const seen: string[] = [];
    const system = new ActorSystem({
      interceptors: [
        {
          client: (call, next) => {
            seen.push(`client ${call.actor}.${call.method} ${call.peer === undefined}`);
            return next({ ...call, options: { ...call.options, metadata: { via: 'local' } } });
          },
          server: recorder('server', ends),
        },
      ],
    });
    try {
      await system.register(Shop);
      const shop = system.ref<Shop>('shop');
      assert.deepEqual(await shop.whoami(), {
        caller: undefined,
        metadata: { via: 'local' },
        deadline: false,
      });
      assert.deepEqual(seen, ['client shop.whoami true']);
      assert.deepEqual(log, ['server shop.whoami local []']);
      await eventually(() => ends.length === 1, 'the end');
      assert.equal(ends[0]!.code, 'OK');
    } finally {
      await system.close();
    }
  });

  it('are checked when the system is made', () => {
    assert.throws(
      () => new ActorSystem({ interceptors: [{ server: 'nope' as never }] }),
      /interceptors\[0\]\.server must be a function/,
    );
  });
});
