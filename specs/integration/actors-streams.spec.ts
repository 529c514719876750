/**
 * Streams between two actor systems over real TLS 1.3: subscriptions and their teardown, complete and
 * error, backpressure (a reader that stops reading keeps the server's memory bounded, under each
 * overflow policy; an AsyncIterable source is paused), Observable arguments, bidirectional streams.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstValueFrom, from, interval, lastValueFrom, map, Observable, take, toArray } from 'rxjs';
import { type ActorSystem, type ActorsConfig, actor, isRpcError, method } from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

/** What the server's sources did, for the specs to check. */
const probe = { subscribed: 0, teardowns: 0, emitted: 0, pulled: 0, maxBuffered: 0, done: false };
let server: ActorSystem | undefined;

function resetProbe(): void {
  Object.assign(probe, { subscribed: 0, teardowns: 0, emitted: 0, pulled: 0, maxBuffered: 0, done: false });
}

/** A push source emitting `count` items of ~`size` bytes as fast as it can, 500 per setImmediate. */
function burst(count: number, size: number): Observable<string> {
  const pad = 'x'.repeat(size);
  return new Observable<string>((s) => {
    probe.subscribed++;
    let i = 0;
    let timer: NodeJS.Immediate | undefined;
    const batch = () => {
      // The pump checks its bound once the connection took what it could of a batch (a setImmediate
      // scheduled during it, which runs before this next batch): here it must be within the bound.
      probe.maxBuffered = Math.max(probe.maxBuffered, server!.stats().bufferedItems);
      for (let n = 0; n < 500 && i < count && !s.closed; n++) {
        s.next(`${i++} ${pad}`);
        probe.emitted++;
      }
      if (i < count) timer = setImmediate(batch);
      else {
        probe.done = true;
        s.complete();
      }
    };
    batch();
    return () => {
      if (timer) clearImmediate(timer);
      probe.teardowns++;
    };
  });
}

@actor('feed')
class Feed {
  ticks(periodMs: number): Observable<number> {
    return new Observable<number>((s) => {
      probe.subscribed++;
      let i = 0;
      const t = setInterval(() => s.next(i++), periodMs);
      return () => {
        clearInterval(t);
        probe.teardowns++;
      };
    });
  }
  finite(n: number): Observable<number> {
    return interval(1).pipe(take(n));
  }
  broken(): Observable<number> {
    return new Observable<number>((s) => {
      s.next(1);
      s.next(2);
      s.error(new RangeError('source broke'));
    });
  }
  @method({ buffer: 16 })
  flood(count: number, size: number): Observable<string> {
    return burst(count, size);
  }
  @method({ buffer: 16, overflow: 'drop-oldest' })
  floodDropOldest(count: number, size: number): Observable<string> {
    return burst(count, size);
  }
  @method({ buffer: 16, overflow: 'drop-newest' })
  floodDropNewest(count: number, size: number): Observable<string> {
    return burst(count, size);
  }
  async *pages(count: number, size: number): AsyncGenerator<string> {
    const pad = 'p'.repeat(size);
    try {
      for (let i = 0; i < count; i++) {
        probe.pulled++;
        yield `${i} ${pad}`;
      }
    } finally {
      probe.teardowns++;
    }
  }
  async sum(xs: Observable<number>): Promise<number> {
    const all = await lastValueFrom(xs.pipe(toArray()));
    return all.reduce((a, b) => a + b, 0);
  }
  async count(xs: AsyncIterable<string>): Promise<number> {
    let n = 0;
    for await (const _ of xs) n++;
    return n;
  }
  shout(words: Observable<string>): Observable<string> {
    return words.pipe(map((w) => w.toUpperCase()));
  }
}

let p: Pair;
afterEach(async () => {
  await p?.close();
  server = undefined;
});

async function start(config?: Partial<ActorsConfig>): Promise<Pair> {
  resetProbe();
  p = await pair(config ? { server: { config } } : {});
  server = p.server;
  await p.server.register(Feed);
  return p;
}

const code = (c: string) => (e: unknown) => isRpcError(e, c as never);

describe('actors over TLS: subscriptions', () => {
  it('subscribing makes the call (cold); unsubscribing reaches the server within one round trip', async () => {
    await start();
    const feed = p.client.ref<Feed>('feed', p.peer);
    const ticks = feed.ticks(2);
    assert.deepEqual(await lastValueFrom(ticks.pipe(take(3), toArray())), [0, 1, 2]);
    // The unsubscribe (a reset of the reply stream) travels ahead of this call on the connection.
    assert.equal(await p.client.ref<Feed>('feed', p.peer).sum(from([1])), 1);
    assert.equal(probe.teardowns, 1, 'the source was torn down before the next reply came back');
    assert.deepEqual(
      await lastValueFrom(ticks.pipe(take(2), toArray())),
      [0, 1],
      'a second subscription, a second call',
    );
    assert.equal(probe.subscribed, 2);
    await eventually(() => probe.teardowns === 2, 'the second teardown');
  });

  it('propagates complete and error', async () => {
    await start();
    const feed = p.client.ref<Feed>('feed', p.peer);
    assert.deepEqual(await lastValueFrom(feed.finite(4).pipe(toArray())), [0, 1, 2, 3]);
    const got: number[] = [];
    await assert.rejects(
      lastValueFrom(feed.broken().pipe(map((v) => got.push(v)))),
      // Not an RpcError: masked (specs/integration/actors-errors.spec.ts).
      (e) => isRpcError(e, 'INTERNAL') && e.message === `internal error (id ${e.errorId})`,
    );
    assert.deepEqual(got, [1, 2]);
    const pulled: number[] = [];
    for await (const v of feed.finite(3)) pulled.push(v);
    assert.deepEqual(pulled, [0, 1, 2]);
    const stream = await feed.finite(2);
    assert.deepEqual(
      await lastValueFrom(stream.pipe(toArray())),
      [0, 1],
      'awaiting a stream method gives the stream',
    );
  });

  it('a value method subscribed gives one item; an unknown actor errors the stream', async () => {
    await start();
    const feed = p.client.ref<Feed>('feed', p.peer);
    const asStream = feed.sum(from([2, 3])) as unknown as Observable<number>;
    assert.deepEqual(await lastValueFrom(asStream.pipe(toArray())), [5]);
    await assert.rejects(firstValueFrom(p.client.ref<Feed>('none', p.peer).finite(1)), code('NOT_FOUND'));
  });
});

describe('actors over TLS: backpressure', () => {
  for (const policy of ['error', 'drop-oldest', 'drop-newest'] as const) {
    it(`a subscriber that stops reading keeps server memory bounded (${policy})`, async () => {
      // A small byte budget, so the item buffer and its policy are reached with 20,000 items.
      await start({ streamBufferBytes: 16 * 1024 });
      const feed = p.client.ref<Feed>('feed', p.peer);
      const count = 20_000;
      const call =
        policy === 'error'
          ? feed.flood(count, 100)
          : policy === 'drop-oldest'
            ? feed.floodDropOldest(count, 100)
            : feed.floodDropNewest(count, 100);
      const reader = call[Symbol.asyncIterator]();
      const first = await reader.next();
      assert.match(first.value as string, /^0 /);
      // Read nothing more: the window fills, then the server's buffer, then the policy applies.
      if (policy === 'error')
        await eventually(() => probe.teardowns === 1, 'the overflowing source to be torn down');
      else await eventually(() => probe.done, 'the source to finish');
      assert.ok(probe.maxBuffered <= 16, `at most 16 items buffered, saw ${probe.maxBuffered}`);
      await sleep(5);
      assert.ok(p.server.stats().bufferedItems <= 16, 'still bounded once the source is done');
      const received = [first.value as string];
      let failure: unknown;
      try {
        for (let r = await reader.next(); !r.done; r = await reader.next()) received.push(r.value as string);
      } catch (err) {
        failure = err;
      }
      const indexes = received.map((s) => Number(s.slice(0, s.indexOf(' '))));
      assert.deepEqual(
        indexes,
        [...indexes].sort((a, b) => a - b),
        'in order',
      );
      assert.ok(received.length < count, `some were dropped or cut: got ${received.length}`);
      await eventually(() => p.server.stats().bufferedItems === 0, 'the buffer to drain');
      if (policy === 'error') {
        assert.ok(isRpcError(failure, 'RESOURCE_EXHAUSTED'), String(failure));
        assert.ok(probe.emitted < count, 'the source stopped');
      } else {
        assert.equal(failure, undefined);
        assert.ok(p.server.stats().droppedItems > 0);
        if (policy === 'drop-oldest') assert.equal(indexes.at(-1), count - 1, 'the newest survived');
        else assert.ok(indexes.at(-1)! < count - 1, 'the newest were dropped');
      }
    });
  }

  it('an AsyncIterable source is paused while the subscriber does not read, and resumes', async () => {
    await start();
    const feed = p.client.ref<Feed>('feed', p.peer);
    const reader = feed.pages(10_000, 8 * 1024)[Symbol.asyncIterator]();
    await reader.next();
    await sleep(50);
    const paused = probe.pulled;
    await sleep(50);
    assert.equal(probe.pulled, paused, 'no more pulled while nobody reads');
    assert.ok(paused < 200, `pulled ${paused} of 10000 (about a window and a read buffer)`);
    for (let i = 0; i < 300; i++) await reader.next();
    // Reading resumed the source: it runs ahead again, up to the window and the read buffer.
    await eventually(() => probe.pulled > paused + 200, 'reading to resume the source');
    await reader.return!();
    await eventually(() => probe.teardowns === 1, 'the generator to be returned');
  });
});

describe('actors over TLS: streams as arguments', () => {
  it('carries Observable and AsyncIterable arguments to the server', async () => {
    await start();
    const feed = p.client.ref<Feed>('feed', p.peer);
    assert.equal(await feed.sum(from([1, 2, 3, 4])), 10);
    assert.equal(await feed.sum(interval(1).pipe(take(5))), 10);
    async function* words() {
      for (let i = 0; i < 1000; i++) yield `w${i}`;
    }
    assert.equal(await feed.count(words()), 1000);
  });

  it('runs a bidirectional stream', async () => {
    await start();
    const feed = p.client.ref<Feed>('feed', p.peer);
    const words = new Observable<string>((s) => {
      let i = 0;
      const t = setInterval(() => {
        s.next(['a', 'b', 'c'][i++]!);
        if (i === 3) s.complete();
      }, 2);
      return () => clearInterval(t);
    });
    assert.deepEqual(await lastValueFrom(feed.shout(words).pipe(toArray())), ['A', 'B', 'C']);
  });
});
