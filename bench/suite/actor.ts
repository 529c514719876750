/**
 * The actor the suite benchmark calls on the rxchan side, one method per scenario.
 */
import 'reflect-metadata';
import type { Readable } from 'node:stream';
import { NEVER, Observable } from 'rxjs';
import { actor } from '../../src/index.js';

/** Items `seqsPushed` emits per macrotask. */
export const PUSH_BATCH = 1000;

/** A message of the `seqs` stream. */
export interface Seq {
  seq: number;
}

@actor('bench')
export class Bench {
  /** Scenarios 1 and 2: the smallest useful call. */
  add(a: number, b: number): number {
    return a + b;
  }

  /**
   * Scenario 3: `n` messages `{ seq }`. A pull source (an AsyncIterable, not an Observable burst): the
   * pump asks for the next item only when the connection took the last one, as a gRPC handler waits for
   * 'drain', so neither side buffers the stream. A bare iterator, so the figure is rxchan's cost, not
   * an async generator's.
   */
  seqs(n: number): AsyncIterable<Seq> {
    let seq = 0;
    return {
      [Symbol.asyncIterator]: () => ({
        next: (): Promise<IteratorResult<Seq>> =>
          Promise.resolve(
            seq < n ? { value: { seq: seq++ }, done: false } : { value: undefined, done: true },
          ),
      }),
    };
  }

  /**
   * Scenario 3, for reference: the same messages from a push source (an Observable), {@link PUSH_BATCH}
   * per macrotask. Nothing slows it down but the stream buffer (1024 items, overflow 'error'): faster
   * than the pull source, and fails RESOURCE_EXHAUSTED if the reader falls behind by more than that.
   */
  seqsPushed(n: number): Observable<Seq> {
    return new Observable<Seq>((subscriber) => {
      let seq = 0;
      let next: NodeJS.Immediate | undefined;
      const batch = (): void => {
        const end = Math.min(n, seq + PUSH_BATCH);
        while (seq < end) subscriber.next({ seq: seq++ });
        if (seq < n) next = setImmediate(batch);
        else subscriber.complete();
      };
      batch();
      return () => clearImmediate(next);
    });
  }

  /**
   * Scenario 4: count the bytes of a byte stream attached to the call. Read with 'data' events, as the
   * raw TLS sink reads its socket (bench/lib/raw-tls.ts), so both sides consume the same way.
   */
  sink(data: Readable): Promise<number> {
    return new Promise((resolve, reject) => {
      let n = 0;
      data.on('data', (chunk: Buffer) => {
        n += chunk.length;
      });
      data.once('end', () => resolve(n));
      data.once('error', reject);
    });
  }

  /** Scenario 6: a stream that stays open and idle until the caller unsubscribes. */
  idle(): Observable<never> {
    return NEVER;
  }
}
