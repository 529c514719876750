/**
 * Pumps a stream (a handler's result, or an Observable argument) into the waiting end of a channel,
 * with backpressure. The channel's `write()` takes a message and says whether the connection can take
 * more at once (the stream is below its window and write buffer); when it cannot, the reader is slow
 * until `drained()` resolves, and meanwhile:
 *
 * - an AsyncIterable source is PAUSED: its `next()` is not called until the channel has drained;
 * - a push source (Observable) cannot pause, so its items wait in a buffer. Once the current macrotask's
 *   microtasks have run (the connection has taken all it would of a synchronous burst), more than
 *   `buffer` items still waiting is a slow reader, and the overflow policy decides: `'error'` ends the
 *   stream with RESOURCE_EXHAUSTED and unsubscribes the source, `'drop-oldest'` drops the oldest items
 *   beyond the bound, `'drop-newest'` the newest. So between macrotasks a stream holds at most `buffer`
 *   items (plus the one the channel took last); within one, a synchronous burst of the source may exceed
 *   it.
 *
 * A source that completes or errors ends the channel after the buffered items (close, or an ERROR record);
 * so does an item that cannot be sent (INVALID_ARGUMENT, RESOURCE_EXHAUSTED for a message too large).
 * When `signal` aborts, or a write fails because the reader cancelled (CHANNEL_CANCELLED) or the
 * connection ended, the source is unsubscribed (its teardown runs; an iterator's `return()` is called)
 * and the channel is left to the caller.
 *
 * Per item a pump makes no promise and no closure of its own: `write()` is synchronous, and a promise
 * (`drained()`) is only made when the reader is behind.
 */
import { type Observable, Subject, takeUntil } from 'rxjs';
import type { OverflowPolicy } from './config.js';
import { errorToWire, rpcError, toRpcError } from './errors.js';

/** The waiting end of a channel, as a pump uses it (a channel-layer Sender has this shape). */
export interface Sink<T = unknown> {
  /**
   * Take `message`. True: write more at once; false: it is taken, but wait for {@link drained} before
   * writing more. Throws (TransportError) when it cannot be sent or the channel is over.
   */
  write(message: T): boolean;
  /** Resolves when write() may go on; rejects with the channel's end error. */
  drained(): Promise<void>;
  close(): void;
  error(code: string, message: string, details?: unknown): void;
}

/** How a pump ended. */
export type PumpEnd =
  /** The source completed; the sink was closed after the last item. */
  | 'complete'
  /** The source failed, or an item could not be sent; the sink got an ERROR record. */
  | 'error'
  /** The buffer overflowed with policy 'error'; the sink got RESOURCE_EXHAUSTED. */
  | 'overflow'
  /** `signal` aborted, or the reader or the connection went away; the sink was not touched. */
  | 'cancelled';

/** Counters shared by the pumps of one system (for `ActorSystem.stats()` and the memory specs). */
export interface PumpStats {
  /** Items waiting in push-stream buffers now. */
  buffered: number;
  /** Items dropped by 'drop-oldest' / 'drop-newest' so far. */
  dropped: number;
}

export interface PumpOptions {
  /** Items a push source may run ahead of the sink, at least 1. */
  buffer: number;
  overflow: OverflowPolicy;
  /** Send a failing source's stack in the ERROR record. */
  exposeStack: boolean;
  /** Stops the pump (the caller cancelled, the deadline passed, the connection ended). */
  signal: AbortSignal;
  stats?: PumpStats;
}

/** Pump a push source. Resolves (never rejects) with how it ended. */
export function pumpObservable<T>(
  source: Observable<T>,
  sink: Sink<T>,
  options: PumpOptions,
): Promise<PumpEnd> {
  const { buffer, overflow, signal, stats } = options;
  return new Promise<PumpEnd>((resolve) => {
    const queue = new Queue<T>();
    /** The channel said wait: items queue until it has drained. */
    let waiting = false;
    let over = false;
    let check: NodeJS.Immediate | undefined;
    let sourceEnd: { error: unknown } | 'complete' | undefined;
    // Through takeUntil, so finish() can unsubscribe even from inside a synchronous burst of the source.
    const stop = new Subject<void>();

    const count = (delta: number) => {
      if (stats) stats.buffered += delta;
    };
    const finish = (end: PumpEnd) => {
      if (over) return;
      over = true;
      count(-queue.length);
      queue.clear();
      if (check !== undefined) clearImmediate(check);
      signal.removeEventListener('abort', onAbort);
      stop.next();
      resolve(end);
    };
    const onAbort = () => finish('cancelled');

    const endSink = () => {
      if (sourceEnd === 'complete') {
        sink.close();
        finish('complete');
      } else if (sourceEnd) {
        const e = errorToWire(sourceEnd.error, options.exposeStack);
        sink.error(e.code, e.message, e.details);
        finish('error');
      }
    };

    // While the channel takes items at once they go straight through; once it says wait, items queue
    // until drained() and then go in order. A promise per stall, none per item.
    const onDrained = () => {
      if (over) return;
      while (queue.length > 0) {
        count(-1);
        let more: boolean;
        try {
          more = sink.write(queue.shift());
        } catch (err) {
          failSend(err);
          return;
        }
        if (over) return;
        if (!more) return waitDrain();
      }
      waiting = false;
      endSink();
    };
    const waitDrain = () => {
      waiting = true;
      sink.drained().then(onDrained, failSend);
    };
    // A write that failed because the reader or the connection is gone ends the pump quietly; one
    // whose item could not be sent (encoding, size) ends the stream with that error.
    const failSend = (err: unknown) => {
      if (over) return;
      const e = toRpcError(err);
      if (e.code === 'CANCELLED' || e.code === 'UNAVAILABLE') return finish('cancelled');
      sink.error(e.code, e.message);
      finish('error');
    };

    // Runs once the microtasks are done, so the connection has taken all it would of a synchronous
    // burst: what is still queued beyond `buffer` is what a slow reader left, and the policy applies.
    const checkpoint = () => {
      check = undefined;
      const excess = queue.length - buffer;
      if (over || excess <= 0) return;
      if (overflow === 'error') {
        const e = rpcError(
          'RESOURCE_EXHAUSTED',
          `stream buffer of ${buffer} items is full: the reader is too slow`,
        );
        sink.error(e.code, e.message);
        finish('overflow');
        return;
      }
      if (overflow === 'drop-oldest') queue.dropOldest(excess);
      else queue.dropNewest(excess);
      count(-excess);
      if (stats) stats.dropped += excess;
    };

    const push = (value: T) => {
      if (over) return;
      if (!waiting) {
        let more: boolean;
        try {
          more = sink.write(value);
        } catch (err) {
          failSend(err);
          return;
        }
        if (!more && !over) waitDrain();
        return;
      }
      queue.push(value);
      count(1);
      if (queue.length > buffer && check === undefined) check = setImmediate(checkpoint);
    };

    if (signal.aborted) return finish('cancelled');
    signal.addEventListener('abort', onAbort, { once: true });
    source.pipe(takeUntil(stop)).subscribe({
      next: push,
      error: (error: unknown) => {
        if (over) return;
        sourceEnd = { error };
        if (!waiting) endSink();
      },
      complete: () => {
        if (over) return;
        sourceEnd = 'complete';
        if (!waiting) endSink();
      },
    });
  });
}

/** A FIFO with O(1) shift (a head index, compacted as it goes). */
class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(v: T): void {
    this.items.push(v);
  }

  shift(): T {
    const v = this.items[this.head]!;
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }

  dropOldest(n: number): void {
    this.items = this.items.slice(this.head + n);
    this.head = 0;
  }

  dropNewest(n: number): void {
    this.items.length -= n;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * Items a pull pump takes from its source in one event-loop turn. A source whose next() resolves at once
 * would otherwise run on microtasks until the stream window and write buffer are full:
 * the connection writes nothing (its flush is a setImmediate), so the reader idles, then gets it all in
 * one burst; and other streams, timers and I/O of the process wait as long. Measured on the suite's
 * subscription of 1,000,000 `{ seq }`: ~0.8M msg/s without turns, ~1.3M with 256 or 512 items per turn
 * (both processes then busy at once), and more CPU per item at 128 (more, smaller socket writes).
 */
export const PULL_TURN_ITEMS = 256;

/**
 * Pump a pull source, one item per write, waiting for the channel to drain when it says so. Resolves
 * (never rejects) with how it ended.
 *
 * The loop awaits `next()` (and `drained()`) in place; an abort does not wake it but ends the pump at once
 * (resolves 'cancelled', calls the iterator's `return()`), and the loop, when its await settles, sees
 * that and stops. Racing each await against the abort instead cost two promises and a closure per item
 * (a third of the waiting side's CPU per item in the suite's subscription scenario).
 */
export function pumpIterable<T>(
  source: AsyncIterable<T>,
  sink: Sink<T>,
  options: PumpOptions,
): Promise<PumpEnd> {
  const { signal } = options;
  return new Promise<PumpEnd>((resolve) => {
    let over = false;
    /** The iterator is finished (it completed or threw): its return() is not called. */
    let done = false;
    let iterator: AsyncIterator<T> | undefined;
    const finish = (end: PumpEnd) => {
      if (over) return;
      over = true;
      signal.removeEventListener('abort', onAbort);
      if (!done && iterator !== undefined) closeIterator(iterator);
      resolve(end);
    };
    const onAbort = () => finish('cancelled');
    /** The source failed (its iterator could not be made, or next() threw or rejected). */
    const sourceFailed = (err: unknown) => {
      done = true; // a throwing iterator is finished; return() is not called
      if (over) return;
      const e = errorToWire(err, options.exposeStack);
      sink.error(e.code, e.message, e.details);
      finish('error');
    };

    const run = async (it: AsyncIterator<T>) => {
      for (let pulled = 1; ; pulled++) {
        if (pulled % PULL_TURN_ITEMS === 0) {
          await new Promise(setImmediate);
          if (over) return;
        }
        let next: IteratorResult<T>;
        try {
          next = await it.next();
        } catch (err) {
          sourceFailed(err);
          return;
        }
        if (over) return;
        if (next.done) {
          done = true;
          sink.close();
          finish('complete');
          return;
        }
        try {
          if (!sink.write(next.value)) await sink.drained();
        } catch (err) {
          if (over) return;
          const e = toRpcError(err);
          if (e.code === 'CANCELLED' || e.code === 'UNAVAILABLE') return finish('cancelled');
          sink.error(e.code, e.message);
          return finish('error');
        }
        if (over) return;
      }
    };

    if (signal.aborted) return resolve('cancelled');
    try {
      iterator = source[Symbol.asyncIterator]();
    } catch (err) {
      return sourceFailed(err);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    void run(iterator);
  });
}

/** Ask a stopped iterator to clean up. Not awaited: a generator suspended in an await only returns when
 *  it reaches its next yield. Whatever return() throws or rejects with is of no use to anyone. */
function closeIterator(iterator: AsyncIterator<unknown>): void {
  try {
    const r = iterator.return?.();
    if (r !== undefined) Promise.resolve(r).catch(() => {});
  } catch {
    // ignored, as above
  }
}
