/**
 * Pumps a pull source (an AsyncIterable: a handler's stream result, or an argument) into the waiting
 * end of a channel, with backpressure: `next()` is not called while the channel says wait, so a slow
 * reader pauses the source. See pump.ts for the shared types and the push pump.
 */
import { errorToWire } from './error-policy.js';
import { rpcError, toRpcError } from './errors.js';
import type { PumpEnd, PumpOptions, Sink } from './pump.js';

/**
 * Items a pull pump takes from its source in one event-loop turn. A source whose next() resolves at once
 * would otherwise run on microtasks until the stream window and write buffer are full:
 * the connection writes nothing (it flushes once the microtasks are done), so the reader idles, then gets it all in
 * one burst; and other streams, timers and I/O of the process wait as long. The turn's size trades
 * throughput against fairness (bench/RESULTS.md has the measurements behind 256).
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
      const owner = options.owner;
      const e = errorToWire(err, options.errors, owner?.errorWhere());
      sink.error(e.code, e.message, e.details);
      owner?.pumpFailed(rpcError(e.code, e.message, { cause: err }));
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
          options.owner?.pumpFailed(e);
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
