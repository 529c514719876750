/**
 * Pumps a stream (a handler's result, or an Observable argument) into the sending end of a channel,
 * with backpressure. The channel's `send()` resolves once the connection has taken the message (it is
 * within the stream's window and write buffer); while a send is pending the reader is slow, and:
 *
 * - an AsyncIterable source is PAUSED: its `next()` is not called until the send resolves;
 * - a push source (Observable) cannot pause, so its items wait in a buffer of `buffer` items; when that
 *   is full the overflow policy decides: `'error'` ends the stream with RESOURCE_EXHAUSTED and
 *   unsubscribes the source, `'drop-oldest'` drops the oldest buffered item, `'drop-newest'` drops the
 *   new one. Memory per stream is thus bounded by `buffer` items plus the one being sent.
 *
 * A source that completes or errors ends the channel after the buffered items (close, or an ERROR record).
 * When `signal` aborts, or a send fails (the reader cancelled: CHANNEL_CANCELLED, or the connection
 * ended), the source is unsubscribed (its teardown runs; an iterator's `return()` is called) and the
 * channel is left to the caller.
 */
import { type Observable, Subject, takeUntil } from 'rxjs';
import type { OverflowPolicy } from './config.js';
import { errorToWire, rpcError } from './errors.js';

/** The sending end of a channel, as a pump uses it (a channel-layer Sender has this shape). */
export interface Sink<T = unknown> {
  send(message: T): Promise<void>;
  close(): void;
  error(code: string, message: string, details?: unknown): void;
}

/** How a pump ended. */
export type PumpEnd =
  /** The source completed; the sink was closed after the last item. */
  | 'complete'
  /** The source failed; the sink got an ERROR record. */
  | 'error'
  /** The buffer overflowed with policy 'error'; the sink got RESOURCE_EXHAUSTED. */
  | 'overflow'
  /** `signal` aborted or a send failed; the sink was not touched. */
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
    const queue: T[] = [];
    let sending = false;
    let over = false;
    let sourceEnd: { error: unknown } | 'complete' | undefined;
    // Through takeUntil, so finish() can unsubscribe even from inside a synchronous burst of the source.
    const stop = new Subject<void>();

    const finish = (end: PumpEnd) => {
      if (over) return;
      over = true;
      if (stats) stats.buffered -= queue.length;
      queue.length = 0;
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

    const sendNext = (value: T) => {
      sending = true;
      sink.send(value).then(
        () => {
          if (over) return;
          if (queue.length > 0) {
            if (stats) stats.buffered--;
            sendNext(queue.shift()!);
            return;
          }
          sending = false;
          endSink();
        },
        () => finish('cancelled'),
      );
    };

    const push = (value: T) => {
      if (over) return;
      if (!sending) {
        sendNext(value);
        return;
      }
      if (queue.length < buffer) {
        queue.push(value);
        if (stats) stats.buffered++;
        return;
      }
      if (overflow === 'drop-newest') {
        if (stats) stats.dropped++;
      } else if (overflow === 'drop-oldest') {
        queue.shift();
        queue.push(value);
        if (stats) stats.dropped++;
      } else {
        const e = rpcError(
          'RESOURCE_EXHAUSTED',
          `stream buffer of ${buffer} items is full: the reader is too slow`,
        );
        sink.error(e.code, e.message);
        finish('overflow');
      }
    };

    if (signal.aborted) return finish('cancelled');
    signal.addEventListener('abort', onAbort, { once: true });
    source.pipe(takeUntil(stop)).subscribe({
      next: push,
      error: (error: unknown) => {
        if (over) return;
        sourceEnd = { error };
        if (!sending) endSink();
      },
      complete: () => {
        if (over) return;
        sourceEnd = 'complete';
        if (!sending) endSink();
      },
    });
  });
}

/** Pump a pull source, one item per resolved send. Resolves (never rejects) with how it ended. */
export async function pumpIterable<T>(
  source: AsyncIterable<T>,
  sink: Sink<T>,
  options: PumpOptions,
): Promise<PumpEnd> {
  const { signal } = options;
  const iterator = source[Symbol.asyncIterator]();
  const stopped = new Promise<'stop'>((resolve) => {
    if (signal.aborted) resolve('stop');
    else signal.addEventListener('abort', () => resolve('stop'), { once: true });
  });
  let done = false;
  try {
    for (;;) {
      let next: IteratorResult<T> | 'stop';
      try {
        next = await Promise.race([iterator.next(), stopped]);
      } catch (err) {
        done = true; // a throwing iterator is finished; return() is not called
        if (signal.aborted) return 'cancelled';
        const e = errorToWire(err, options.exposeStack);
        sink.error(e.code, e.message, e.details);
        return 'error';
      }
      if (next === 'stop') return 'cancelled';
      if (next.done) {
        done = true;
        sink.close();
        return 'complete';
      }
      try {
        if ((await Promise.race([sink.send(next.value), stopped])) === 'stop') return 'cancelled';
      } catch {
        return 'cancelled';
      }
    }
  } finally {
    // Not awaited: a generator suspended in an await only returns when it reaches its next yield.
    if (!done) iterator.return?.()?.catch(() => {});
  }
}
