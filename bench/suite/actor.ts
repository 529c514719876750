/**
 * The actor the suite benchmark calls on the rxchan side, one method per scenario.
 */
import 'reflect-metadata';
import { Readable } from 'node:stream';
import { map, Observable, range } from 'rxjs';
import { actor } from '../../src/index.js';

/** A message of the `seqs` and `range` streams. */
export interface Seq {
  seq: number;
}

/** Bytes of each chunk `source` pushes (as the upload's writes). */
export const SOURCE_CHUNK = 64 * 1024;

/** Subscriptions to `idle()` open in this process (the callee's side): scenario 6 waits for them. */
let idleSubscribed = 0;

const idleTeardown = (): void => {
  idleSubscribed--;
};

/**
 * What `idle()` returns: one Observable for every call, counting its subscriptions with a shared
 * teardown, so a stream costs the callee what any subscription costs and nothing of the benchmark's.
 */
const IDLE = new Observable<never>(() => {
  idleSubscribed++;
  return idleTeardown;
});

/** How many `idle()` streams the callee has subscribed and not torn down. */
export function idleSubscriptions(): number {
  return idleSubscribed;
}

@actor('bench')
export class Bench {
  /** Scenarios 1, 2 and 7: the smallest useful call. */
  add(a: number, b: number): number {
    return a + b;
  }

  /**
   * Scenario 3, pulled: `n` messages `{ seq }` from an AsyncIterable, which the callee pulls only as the
   * connection takes items (backpressure, as a gRPC handler waits for 'drain'). A bare iterator, so the
   * figure is rxchan's cost, not an async generator's.
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
   * Scenario 3, pushed: exactly what an RxJS user writes first, `range(0, n).pipe(map(seq => ({ seq })))`:
   * a synchronous burst of `n` items when the caller subscribes, bounded only by the connection's byte
   * budget for push streams (ActorsConfig.streamBufferBytes) and then the item buffer.
   */
  range(n: number): Observable<Seq> {
    return range(0, n).pipe(map((seq) => ({ seq })));
  }

  /**
   * Scenario 4, upload: count the bytes of a byte stream attached to the call. Read with 'data' events, as
   * the raw TLS sink reads its socket (bench/lib/raw-tls.ts), so both sides consume the same way.
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

  /**
   * Scenario 4, download: a Readable of `bytes` bytes in {@link SOURCE_CHUNK} chunks (the same buffer each
   * time: the cost is the transport's), as the raw TLS source server writes them.
   */
  source(bytes: number): Readable {
    return byteSource(bytes, Buffer.alloc(SOURCE_CHUNK, 0xa5));
  }

  /**
   * Scenario 6: a stream that stays open and idle until the caller unsubscribes. The callee subscribes
   * it only once the caller subscribes, so the count it keeps ({@link idleSubscriptions}) says how many
   * streams are really open, not merely called.
   */
  idle(): Observable<never> {
    return IDLE;
  }
}

/** `total` bytes as a Readable of `chunk`s (the same buffer each time: the cost is the transport's). */
export function byteSource(total: number, chunk: Buffer): Readable {
  let sent = 0;
  return new Readable({
    read() {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!this.push(n === chunk.length ? chunk : chunk.subarray(0, n))) return;
      }
      this.push(null);
    },
  });
}
