/**
 * Actor limits of docs/ERRORS.md 6.4 and 6.5 reached over real TLS, each with what the table says
 * happens then: `maxMailbox` and `concurrency`, an actor's default deadline, the system-wide push-stream
 * buffer and overflow policy (`streamBuffer`, `overflow`, for a method that sets neither), the longest
 * redial wait (`reconnectMaxMs`), and `closeTimeoutMs` cutting a call that outlasts it.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastValueFrom, map, Observable, timer, toArray } from 'rxjs';
import {
  ActorSystem,
  type ActorsConfig,
  actor,
  callContext,
  isRpcError,
  method,
  type RpcError,
} from '../../src/actors/index.js';
import { dialTcp } from '../../src/transport/connection/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const code = (c: RpcError['code']) => (e: unknown) => isRpcError(e, c);

/** Holds every call until `open()`. */
class Gate {
  static started = 0;
  static release: () => void = () => {};
  static opened = new Promise<void>((resolve) => {
    Gate.release = resolve;
  });
  static reset(): void {
    Gate.started = 0;
    Gate.opened = new Promise<void>((resolve) => {
      Gate.release = resolve;
    });
  }
  async hold(): Promise<string> {
    Gate.started++;
    await Gate.opened;
    return 'done';
  }
  ping(): string {
    return 'pong';
  }
}

/** How each handler of {@link Sleepy} ended. */
const reasons: unknown[] = [];

@actor('sleepy', { timeoutMs: 100 })
class Sleepy {
  async unary(): Promise<string> {
    const { signal } = callContext();
    try {
      await sleep(10_000, undefined, { signal });
      return 'slept';
    } catch (err) {
      reasons.push(signal.reason);
      throw err;
    }
  }
  /** A stream that lasts longer than the actor's default deadline. */
  slowStream(): Observable<number> {
    return timer(200).pipe(map(() => 1));
  }
  @method({ timeoutMs: 0 })
  async unbounded(ms: number): Promise<string> {
    await sleep(ms);
    return 'done';
  }
}

/** What the flooding source did, and the system serving it. */
const source = { teardowns: 0, done: false, maxBuffered: 0 };
let floodServer: ActorSystem | undefined;

/** A method with no `@method` options: the system's `streamBuffer` and `overflow` apply. */
class Flood {
  items(count: number): Observable<string> {
    const pad = 'x'.repeat(100);
    return new Observable<string>((s) => {
      let i = 0;
      let next: NodeJS.Immediate | undefined;
      const batch = () => {
        source.maxBuffered = Math.max(source.maxBuffered, floodServer!.stats().bufferedItems);
        for (let n = 0; n < 500 && i < count && !s.closed; n++) s.next(`${i++} ${pad}`);
        if (i < count) next = setImmediate(batch);
        else {
          source.done = true;
          s.complete();
        }
      };
      batch();
      return () => {
        if (next) clearImmediate(next);
        source.teardowns++;
      };
    });
  }
}

describe('actors over TLS: mailbox and concurrency', () => {
  it('maxMailbox: beyond `concurrency` running and maxMailbox waiting, a call fails RESOURCE_EXHAUSTED', async () => {
    Gate.reset();
    p = await pair({ server: { config: { maxMailbox: 1 } } });
    await p.server.register('gate', Gate, { concurrency: 2 });
    await p.server.register('other', Gate);
    const gate = p.client.ref<Gate>('gate', p.peer);
    const running = [gate.hold(), gate.hold()];
    await eventually(() => Gate.started === 2, 'two calls to run at once (concurrency 2)');
    const waiting = gate.hold();
    // Calls on one connection are admitted in order: once a later one is answered, this one is queued.
    assert.equal(await p.client.ref<Gate>('other', p.peer).ping(), 'pong');
    await assert.rejects(gate.hold(), code('RESOURCE_EXHAUSTED'));
    assert.equal(Gate.started, 2, 'the waiting call has not started, the refused one never will');
    Gate.release();
    assert.deepEqual(await Promise.all([...running, waiting]), ['done', 'done', 'done']);
    assert.equal(Gate.started, 3);
  });
});

describe("actors over TLS: an actor's default deadline", () => {
  it('@actor({ timeoutMs }): a unary call that sets none fails DEADLINE_EXCEEDED on both sides; streams and timeoutMs 0 are not bound', async () => {
    reasons.length = 0;
    p = await pair();
    await p.server.register(Sleepy);
    const sleepy = p.client.ref<Sleepy>('sleepy', p.peer);
    const started = Date.now();
    await assert.rejects(sleepy.unary(), code('DEADLINE_EXCEEDED'));
    assert.ok(Date.now() - started >= 95, 'failed at the actor’s deadline, not before');
    await eventually(() => reasons.length === 1, 'the handler to stop');
    assert.ok(isRpcError(reasons[0], 'DEADLINE_EXCEEDED'), String(reasons[0]));
    // A caller's deadline wins over the actor's.
    const longer = Date.now();
    await assert.rejects(sleepy.withOptions({ timeoutMs: 200 }).unary(), code('DEADLINE_EXCEEDED'));
    assert.ok(Date.now() - longer >= 195, 'the caller’s 200 ms, not the actor’s 100 ms');
    // The actor's default bounds unary calls only; a method's 0 means no deadline at all.
    assert.deepEqual(await lastValueFrom(sleepy.slowStream().pipe(toArray())), [1]);
    assert.equal(await sleepy.unbounded(200), 'done');
  });
});

describe('actors over TLS: the system-wide stream buffer', () => {
  const flood = async (config: Partial<ActorsConfig>) => {
    Object.assign(source, { teardowns: 0, done: false, maxBuffered: 0 });
    p = await pair({ server: { config: { streamBufferBytes: 16 * 1024, streamBuffer: 16, ...config } } });
    const server = p.server;
    floodServer = server;
    await server.register('flood', Flood);
    const count = 20_000;
    const reader = p.client.ref<Flood>('flood', p.peer).items(count)[Symbol.asyncIterator]();
    return { server, reader, count };
  };

  it("streamBuffer: a reader that stops holds at most that many items; overflow 'error' ends the stream RESOURCE_EXHAUSTED", async () => {
    const { server, reader, count } = await flood({});
    assert.match((await reader.next()).value as string, /^0 /);
    await eventually(() => source.teardowns === 1, 'the overflowing source to be unsubscribed');
    assert.ok(source.maxBuffered <= 16, `at most 16 items buffered, saw ${source.maxBuffered}`);
    assert.ok(server.stats().bufferedItems <= 16);
    let received = 1;
    let failure: unknown;
    try {
      for (let r = await reader.next(); !r.done && received < count; r = await reader.next()) received++;
    } catch (err) {
      failure = err;
    }
    assert.ok(isRpcError(failure, 'RESOURCE_EXHAUSTED'), String(failure));
    assert.ok(received < count, 'the stream was cut');
    assert.equal(source.done, false, 'the source stopped before its end');
  });

  it("overflow 'drop-newest' for the whole system: the items beyond streamBuffer are dropped, the stream completes", async () => {
    const { server, reader, count } = await flood({ overflow: 'drop-newest' });
    assert.match((await reader.next()).value as string, /^0 /);
    await eventually(() => source.done, 'the source to finish');
    assert.ok(source.maxBuffered <= 16, `at most 16 items buffered, saw ${source.maxBuffered}`);
    let received = 1;
    for (let r = await reader.next(); !r.done && received < count; r = await reader.next()) received++;
    assert.ok(received < count, `some were dropped: got ${received}`);
    assert.ok(server.stats().droppedItems > 0);
  });
});

describe('actors: redialing', () => {
  it('reconnectMaxMs: the wait after failed dials doubles from reconnectBaseMs and stops at reconnectMaxMs', async () => {
    // A port nobody listens on: every dial fails at once (connection refused).
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const system = new ActorSystem({
      dial: (peer) => dialTcp({ host: peer.host!, port: peer.port! }),
      config: { reconnectBaseMs: 20, reconnectMaxMs: 50 },
    });
    try {
      const ref = system.ref<Gate>('gate', { host: '127.0.0.1', port });
      const waits: number[] = [];
      for (let i = 0; i < 5; i++) {
        await assert.rejects(ref.ping(), code('UNAVAILABLE')); // a dial, failed
        const err = await ref.ping().then(
          () => undefined,
          (e: unknown) => e as RpcError,
        );
        const wait = Number(/next dial in (\d+) ms/.exec(err?.message ?? '')?.[1]);
        assert.ok(Number.isInteger(wait), `no backoff in ${String(err)}`);
        waits.push(wait);
        await sleep(wait + 5);
      }
      // 20, 40, then 50 (not 80, 160, 320): each read just after its failure, so a few ms under.
      const expected = [20, 40, 50, 50, 50];
      for (const [i, w] of waits.entries()) {
        assert.ok(
          w <= expected[i]! && w > expected[i]! - 15,
          `waits ${waits.join(', ')}: expected ${expected}`,
        );
      }
    } finally {
      await system.close();
    }
  });
});

describe('actors over TLS: closing with a call that outlasts closeTimeoutMs', () => {
  it('closeTimeoutMs: the call is cut, its caller sees UNAVAILABLE, its handler’s signal aborts', async () => {
    reasons.length = 0;
    const closeTimeoutMs = 200;
    p = await pair({ server: { config: { closeTimeoutMs } } });
    await p.server.register('sleepy', Sleepy, { timeoutMs: 0 });
    const call = p.client.ref<Sleepy>('sleepy', p.peer).unary();
    const outcome = call.then(
      () => undefined,
      (e: unknown) => e,
    );
    await eventually(() => p!.server.stats().servedCalls === 1, 'the call to run');
    const started = Date.now();
    await p.server.close();
    const took = Date.now() - started;
    assert.ok(isRpcError(await outcome, 'UNAVAILABLE'), String(await outcome));
    assert.equal(reasons.length, 1, 'the handler was aborted');
    assert.ok(isRpcError(reasons[0], 'UNAVAILABLE'), String(reasons[0]));
    // close() waits for the calls, then for each connection's graceful close: each up to closeTimeoutMs.
    assert.ok(took >= closeTimeoutMs - 5, `close() cut the call after ${took} ms, before closeTimeoutMs`);
    assert.ok(took < 2 * closeTimeoutMs + 1000, `close() took ${took} ms`);
  });
});
