import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { from, Observable, range, Subject, throwError } from 'rxjs';
import type { OverflowPolicy } from '../../src/actors/config.js';
import { CallScope, LOCAL_CALLER } from '../../src/actors/context.js';
import type { ErrorPolicy } from '../../src/actors/error-policy.js';
import { rpcError } from '../../src/actors/errors.js';
import { PULL_TURN_ITEMS, pumpIterable } from '../../src/actors/pull-pump.js';
import { type PumpStats, pumpObservable, type Sink } from '../../src/actors/pump.js';
import { transportError } from '../../src/transport/errors.js';

/**
 * A sink whose connection takes `open` messages at once; past that, write() says wait and drained() stays
 * pending until `release()`. A cancelled sink throws on write and rejects drained(), as a channel whose
 * reader cancelled does.
 */
class FakeSink implements Sink<number> {
  readonly sent: number[] = [];
  ended: 'closed' | { code: string; message: string } | undefined;
  private waiting: (() => void)[] = [];
  private cancelled = false;

  constructor(private open = Infinity) {}

  /** Each item past the open window counts 10 bytes. */
  get bufferedBytes(): number {
    return Math.max(0, this.sent.length - this.open) * 10;
  }

  write(v: number): boolean {
    if (this.cancelled) throw transportError('CHANNEL_CANCELLED', 'cancelled');
    this.sent.push(v);
    return this.sent.length <= this.open;
  }
  drained(): Promise<void> {
    if (this.cancelled) return Promise.reject(transportError('CHANNEL_CANCELLED', 'cancelled'));
    if (this.sent.length <= this.open) return Promise.resolve();
    return new Promise((resolve, reject) =>
      this.waiting.push(() =>
        this.cancelled ? reject(transportError('CHANNEL_CANCELLED', 'x')) : resolve(),
      ),
    );
  }
  close(): void {
    this.ended ??= 'closed';
  }
  error(code: string, message: string): void {
    this.ended ??= { code, message };
  }
  /** The reader catches up: drained() resolves, and the connection takes `more` messages at once. */
  release(more = Infinity): void {
    this.open = this.sent.length + more;
    for (const w of this.waiting.splice(0)) w();
  }
  cancel(): void {
    this.cancelled = true;
    for (const w of this.waiting.splice(0)) w();
  }
}

/**
 * How the pumps here write a source's error: with the messages shown (`exposeErrorMessages`), so a spec
 * sees which error ended the stream; masking is specs/actors/error-policy.spec.ts's.
 */
const errors: ErrorPolicy = {
  config: { exposeErrorMessages: true, exposeStackTraces: false },
  mapError: undefined,
  report: () => {},
};

/** Pump options, with no byte budget: every item the sink refuses queues (the item-count rules alone). */
function options(buffer: number, overflow: OverflowPolicy, stats?: PumpStats) {
  return { buffer, overflow, errors, signal: new AbortController().signal, stats };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('pumpObservable', () => {
  it('sends every item in order and closes when nobody is slow (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 50 }), async (items) => {
        const sink = new FakeSink();
        const end = await pumpObservable(from(items), sink, options(items.length + 1, 'error'));
        assert.equal(end, 'complete');
        assert.deepEqual(sink.sent, items);
        assert.equal(sink.ended, 'closed');
      }),
    );
  });

  it('holds at most `buffer` items between macrotasks for a reader that never reads (each policy)', async () => {
    for (const policy of ['error', 'drop-oldest', 'drop-newest'] as const) {
      const sink = new FakeSink(3);
      const stats: PumpStats = { buffered: 0, dropped: 0 };
      let tornDown = false;
      let maxBuffered = 0;
      let ticks = 0;
      // 100 items per check phase (setImmediate), up to 50 batches, until unsubscribed. Each batch first
      // looks at what the pump holds: the pump's checkpoint, scheduled during the previous batch, ran
      // just before it (setImmediate callbacks run in order).
      const source = new Observable<number>((s) => {
        let i = 0;
        let next: NodeJS.Immediate | undefined;
        const batch = () => {
          ticks++;
          maxBuffered = Math.max(maxBuffered, stats.buffered);
          for (let n = 0; n < 100; n++) s.next(i++);
          if (ticks < 50) next = setImmediate(batch);
        };
        next = setImmediate(batch);
        return () => {
          if (next) clearImmediate(next);
          tornDown = true;
        };
      });
      const ac = new AbortController();
      const pumped = pumpObservable(source, sink, { ...options(16, policy, stats), signal: ac.signal });
      for (let wait = 0; wait < 500 && ticks < 50 && !tornDown; wait++) await flush();
      assert.ok(maxBuffered <= 16, `${policy}: ${maxBuffered} buffered`);
      assert.ok(sink.sent.length <= 4, `${policy}: ${sink.sent.length} handed to the connection`);
      if (policy === 'error') {
        assert.equal(await pumped, 'overflow');
        assert.deepEqual(sink.ended, {
          code: 'RESOURCE_EXHAUSTED',
          message: 'stream buffer of 16 items is full: the reader is too slow',
        });
      } else {
        assert.ok(stats.dropped > 100, `${policy}: ${stats.dropped} dropped`);
        ac.abort();
        assert.equal(await pumped, 'cancelled');
      }
      assert.ok(tornDown, `${policy}: the source was unsubscribed`);
      assert.equal(stats.buffered, 0);
    }
  });

  it('drop-oldest keeps the newest items, drop-newest the oldest (after what the connection took)', async () => {
    for (const [policy, expected] of [
      ['drop-oldest', [0, 1, 96, 97, 98, 99]],
      ['drop-newest', [0, 1, 2, 3, 4, 5]],
    ] as const) {
      const sink = new FakeSink(1);
      const source = new Subject<number>();
      const pumped = pumpObservable(source, sink, options(4, policy));
      for (let i = 0; i < 100; i++) source.next(i);
      source.complete();
      await flush(); // the checkpoint: the connection took 2, the policy trims the rest to 4
      sink.release();
      assert.equal(await pumped, 'complete');
      assert.deepEqual(sink.sent, expected, policy);
    }
  });

  it('ends with an ERROR record after the buffered items when the source fails', async () => {
    const sink = new FakeSink(0);
    const source = new Subject<number>();
    const pumped = pumpObservable(source, sink, options(8, 'error'));
    source.next(1);
    source.next(2);
    source.error(new Error('source broke'));
    assert.equal(sink.ended, undefined);
    sink.release();
    assert.equal(await pumped, 'error');
    assert.deepEqual(sink.sent, [1, 2]);
    assert.deepEqual(sink.ended, { code: 'INTERNAL', message: 'source broke' });
    assert.equal(
      await pumpObservable(
        throwError(() => new Error('x')),
        new FakeSink(),
        options(1, 'error'),
      ),
      'error',
    );
  });

  it('unsubscribes the source when the reader cancels, even mid-burst', async () => {
    const sink = new FakeSink(2);
    let emitted = 0;
    const pumped = pumpObservable(
      new Observable<number>((s) => {
        const t = setInterval(() => s.next(emitted++), 1);
        return () => clearInterval(t);
      }),
      sink,
      options(100, 'drop-newest'),
    );
    await new Promise((r) => setTimeout(r, 20));
    sink.cancel();
    assert.equal(await pumped, 'cancelled');
    const after = emitted;
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(emitted, after, 'the interval was torn down');
    assert.equal(sink.ended, undefined);
  });

  it("stops a synchronous endless source in the middle of its burst when a call's scope aborts", async () => {
    const scope = new CallScope(LOCAL_CALLER, 'bench', 'seqs', undefined);
    let emitted = 0;
    const source = new Observable<number>((s) => {
      for (let i = 0; i < 1_000_000 && !s.closed; i++) s.next(emitted++);
    });
    const sink = new FakeSink();
    const write = sink.write.bind(sink);
    sink.write = (m: number) => {
      if (m === 5) scope.abort(rpcError('CANCELLED', 'the caller cancelled'));
      return write(m);
    };
    assert.equal(await pumpObservable(source, sink, { ...options(16, 'error'), signal: scope }), 'cancelled');
    assert.equal(emitted, 6, 'the source saw the pump end at once');
    assert.equal(sink.ended, undefined);
  });

  it('a synchronous burst may exceed the buffer if the connection takes it; what it cannot take must fit', async () => {
    const fast = new FakeSink();
    assert.equal(await pumpObservable(range(0, 10_000), fast, options(2, 'error')), 'complete');
    assert.equal(fast.sent.length, 10_000);
    // The connection takes 2 and stalls on the third: 4 wait, one more than the buffer.
    assert.equal(await pumpObservable(range(0, 7), new FakeSink(2), options(3, 'error')), 'overflow');
  });
});

describe('pumpIterable', () => {
  it('pauses the source while the channel has not drained, and resumes when it has', async () => {
    const sink = new FakeSink(3);
    let pulled = 0;
    let returned = false;
    async function* source() {
      try {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield i;
        }
      } finally {
        returned = true;
      }
    }
    const ac = new AbortController();
    const pumped = pumpIterable(source(), sink, { ...options(1, 'error'), signal: ac.signal });
    await flush();
    assert.equal(pulled, 4, 'pulled only what the connection took, plus the one being sent');
    sink.release(2);
    await flush();
    assert.equal(pulled, 7);
    ac.abort();
    assert.equal(await pumped, 'cancelled');
    await flush();
    assert.ok(returned, 'the generator was returned');
  });

  it('closes after the last item, or sends an ERROR record when the iterator throws', async () => {
    const sink = new FakeSink();
    assert.equal(await pumpIterable(gen([1, 2, 3]), sink, options(1, 'error')), 'complete');
    assert.deepEqual(sink.sent, [1, 2, 3]);
    assert.equal(sink.ended, 'closed');
    async function* failing() {
      yield 1;
      throw new Error('iterator broke');
    }
    const broken = new FakeSink();
    assert.equal(await pumpIterable(failing(), broken, options(1, 'error')), 'error');
    assert.deepEqual(broken.ended, { code: 'INTERNAL', message: 'iterator broke' });
  });
});

describe('pumpIterable turns', () => {
  it('gives the event loop a turn every PULL_TURN_ITEMS items of a source that never waits', async () => {
    const items = 20 * PULL_TURN_ITEMS;
    let pulled = 0;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          Promise.resolve(pulled < items ? { value: pulled++, done: false } : { value: 0, done: true }),
      }),
    };
    const sink = new FakeSink();
    const seen: number[] = []; // items pulled when each check phase ran
    let turns = 0;
    const watch = () => {
      seen.push(pulled);
      if (++turns < 100 && pulled < items) setImmediate(watch);
    };
    setImmediate(watch);
    assert.equal(await pumpIterable(source, sink, options(1, 'error')), 'complete');
    assert.equal(sink.sent.length, items);
    // On microtasks alone the whole source would be pulled before the first check phase.
    const first = seen[0] ?? items; // no turn at all before the end: all of them
    assert.ok(first <= PULL_TURN_ITEMS, `${first} items pulled before the first turn`);
    assert.ok(seen.length >= 10, `only ${seen.length} turns during ${items} items`);
  });

  it('ends at once when aborted while next() is pending, and returns the iterator', async () => {
    let returned = false;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<number>>(() => {}), // never settles
        return: () => {
          returned = true;
          return Promise.resolve({ value: undefined, done: true });
        },
      }),
    };
    const ac = new AbortController();
    const sink = new FakeSink();
    const pumped = pumpIterable(source, sink, { ...options(1, 'error'), signal: ac.signal });
    await flush();
    ac.abort();
    assert.equal(await pumped, 'cancelled');
    assert.ok(returned, 'return() was called');
    assert.equal(sink.ended, undefined, 'the sink is left to the caller');
  });

  it('never rejects: an iterable whose iterator cannot be made ends the stream with its error', async () => {
    const source = {
      [Symbol.asyncIterator]: () => {
        throw new Error('no iterator');
      },
    } as unknown as AsyncIterable<number>;
    const sink = new FakeSink();
    assert.equal(await pumpIterable(source, sink, options(1, 'error')), 'error');
    assert.deepEqual(sink.ended, { code: 'INTERNAL', message: 'no iterator' });
  });
});

describe('pumpIterable memory', () => {
  it('holds nothing per item sent: a long stream does not grow the heap', async () => {
    // A full GC on demand (the spec runner does not pass --expose-gc).
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const items = 100_000;
    let before = 0;
    let nearEnd = 0;
    async function* source() {
      for (let i = 0; i < items; i++) {
        if (i === 1_000 || i === items - 1) {
          gc();
          if (i === 1_000) before = process.memoryUsage().heapUsed;
          else nearEnd = process.memoryUsage().heapUsed;
        }
        yield i;
      }
    }
    const sink: Sink<number> = {
      bufferedBytes: 0,
      write: () => true,
      drained: () => Promise.resolve(),
      close() {},
      error() {},
    };
    assert.equal(await pumpIterable(source(), sink, options(1, 'error')), 'complete');
    // Racing each item against one long-lived promise kept over 1 KB per item (~120 MB here).
    const grown = (nearEnd - before) / 1e6;
    assert.ok(grown < 16, `heap grew ${grown.toFixed(1)} MB over ${items} items`);
  });
});

async function* gen<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}
