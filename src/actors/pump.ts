/**
 * Pumps a stream (a handler's result, or an Observable argument) into the waiting end of a channel,
 * with backpressure. The channel's `write()` takes a message and says whether the connection can take
 * more at once (the stream is below its window and write buffer); when it cannot, the reader is slow
 * until `drained()` resolves, and meanwhile:
 *
 * - an AsyncIterable source is PAUSED: its `next()` is not called until the channel has drained;
 * - a push source (Observable) cannot pause. Its items still go to the channel, encoded, while the
 *   channel holds fewer bytes not yet taken by the connection than its share of the connection's byte
 *   budget ({@link ByteBudget}: `streamBufferBytes` split between the push streams open on it), so a
 *   synchronous burst of ordinary size, such as `range(0, 1_000_000)` of small items, streams at full
 *   speed; beyond that they wait, unencoded, in a queue. Once the current macrotask's microtasks have run, more than
 *   `buffer` items in that queue is a slow reader, and the overflow policy decides: `'error'` ends the
 *   stream with RESOURCE_EXHAUSTED and unsubscribes the source, `'drop-oldest'` drops the oldest queued
 *   items beyond the bound, `'drop-newest'` the newest. So between macrotasks the push streams of a
 *   connection hold at most about the budget's bytes plus `buffer` items each; within one, a synchronous
 *   burst may queue more.
 *
 * A source that completes or errors ends the channel after the buffered items (close, or an ERROR record:
 * see `PumpOptions.errors`); so does an item that cannot be sent (INVALID_ARGUMENT, RESOURCE_EXHAUSTED for a message too large).
 * When `signal` aborts, or a write fails because the reader cancelled (CHANNEL_CANCELLED) or the
 * connection ended, the source is unsubscribed (its teardown runs; an iterator's `return()` is called)
 * and the channel is left to the caller.
 *
 * Per item a pump makes no promise and no closure of its own: `write()` is synchronous, and a promise
 * (`drained()`) is only made when the reader is behind.
 */
import { Observable, type Subscriber } from 'rxjs';
import type { OverflowPolicy } from './config.js';
import { type ErrorPolicy, type ErrorWhere, errorToWire } from './error-policy.js';
import { type RpcError, rpcError, toRpcError } from './errors.js';

/** The waiting end of a channel, as a pump uses it (a channel-layer Sender has this shape). */
export interface Sink<T = unknown> {
  /**
   * Take `message`. True: write more at once; false: it is taken, but wait for {@link drained} before
   * writing more. Throws (TransportError) when it cannot be sent or the channel is over.
   */
  write(message: T): boolean;
  /** Bytes written and not yet taken by the connection. */
  readonly bufferedBytes: number;
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

/**
 * The bytes of encoded items that the push streams of one connection may queue beyond what the
 * connection took, shared equally between the push streams open on it.
 */
export class ByteBudget {
  private streams = 0;

  /** @param limit bytes for all the connection's push streams together (`streamBufferBytes`) */
  constructor(private readonly limit: number) {}

  /** A push stream starts / ends. */
  enter(): void {
    this.streams++;
  }

  leave(): void {
    this.streams--;
  }

  /** What one push stream may queue now. */
  share(): number {
    return this.limit / Math.max(1, this.streams);
  }
}

/** Counters shared by the pumps of one system (for `ActorSystem.stats()` and the memory specs). */
export interface PumpStats {
  /** Items waiting in push-stream buffers now. */
  buffered: number;
  /** Items dropped by 'drop-oldest' / 'drop-newest' so far. */
  dropped: number;
}

/**
 * What stops a pump: an AbortSignal, or anything with its `aborted` flag and 'abort' listeners (a served
 * call's scope is one, so a stream needs no AbortController, an EventTarget with its own tables).
 */
export interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

/** An 'abort' listener: a function, or an object with `handleEvent` (as EventTarget takes them). */
export type AbortListener = (() => void) | { handleEvent(): void };

/** The smallest {@link AbortLike}: listeners, called once by {@link abort}; none after it. */
export class AbortFlag implements AbortLike {
  aborted = false;
  private listeners: AbortListener[] | undefined;

  addEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.aborted) return;
    if (this.listeners === undefined) this.listeners = [listener];
    else this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners!.splice(at, 1);
  }

  /** Call every listener once (a throwing one does not stop the others). Idempotent. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners === undefined) return;
    for (const l of listeners) {
      try {
        if (typeof l === 'function') l();
        else l.handleEvent();
      } catch {
        // A listener's failure must not stop the others.
      }
    }
  }
}

export interface PumpOptions {
  /** Items a push source may queue (unencoded) beyond its byte share, at least 1. */
  buffer: number;
  /** The connection's byte budget for push streams (none: items the channel refuses queue at once). */
  bytes?: ByteBudget;
  overflow: OverflowPolicy;
  /**
   * What a failing source's ERROR record says: an RpcError as it is, anything else masked and reported
   * (error-policy.ts), with where the owner says it came from.
   */
  errors: ErrorPolicy;
  /** Who the stream belongs to (a served call): where its errors come from, and who hears them. */
  owner?: PumpOwner;
  /** Stops the pump (the caller cancelled, the deadline passed, the connection ended). */
  signal: AbortLike;
  stats?: PumpStats;
}

/** What a pump asks of the call whose stream it pumps; an object, so a stream holds no closure for it. */
export interface PumpOwner {
  /** Where the source's errors come from, for `onError` (asked only when one is masked). */
  errorWhere(): ErrorWhere;
  /** Hears the error the sink was sent when the pump ends 'error' or 'overflow' (before it ends). */
  pumpFailed(error: RpcError): void;
}

/** Pump a push source. Resolves (never rejects) with how it ended. */
export function pumpObservable<T>(
  source: Observable<T>,
  sink: Sink<T>,
  options: PumpOptions,
): Promise<PumpEnd> {
  return new Promise<PumpEnd>((resolve) => startPushPump(source, sink, options, { pumpEnded: resolve }));
}

/** Who hears how a pump ended (an object, so an open stream holds no promise and no closure for it). */
export interface PumpDone {
  /** Called once, with how the pump ended; must not throw. */
  pumpEnded(end: PumpEnd): void;
}

/** {@link pumpObservable} without a promise: `done.pumpEnded` hears the end. */
export function startPushPump<T>(
  source: Observable<T>,
  sink: Sink<T>,
  options: PumpOptions,
  done: PumpDone,
): void {
  new PushPump(sink, options, done).start(source);
}

/**
 * The state of one {@link pumpObservable}: one object, its methods the source's observer and the
 * signal's listener, so an open stream holds no closures.
 *
 * While the channel takes items at once they go straight through; once it says wait, items queue until
 * drained() and then go in order. A promise per stall, none per item.
 */
class PushPump<T> {
  /** Made on the first stall: a stream whose reader keeps up never needs one. */
  private queue: Queue<T> | undefined;
  /** The channel said wait: items queue until it has drained. */
  private waiting = false;
  private over = false;
  private check: NodeJS.Immediate | undefined;
  private sourceEnd: { error: unknown } | 'complete' | undefined;
  /** The source's subscriber, to unsubscribe from it even inside a synchronous burst. */
  private subscriber: Subscriber<T> | undefined;
  /** Subscribed (so counted in the byte budget until it finishes). */
  private started = false;

  constructor(
    private readonly sink: Sink<T>,
    private readonly options: PumpOptions,
    private readonly done: PumpDone,
  ) {}

  start(source: Observable<T>): void {
    const signal = this.options.signal;
    if (signal.aborted) {
      this.finish('cancelled');
      return;
    }
    signal.addEventListener('abort', this, { once: true });
    this.started = true;
    this.options.bytes?.enter();
    // Subscribed through an Observable of our own, to hold the subscriber before the source's first
    // item: a synchronous source must stop at once when the pump ends in the middle of its burst.
    new Observable<T>((subscriber) => {
      this.subscriber = subscriber;
      return source.subscribe(subscriber);
    }).subscribe(this);
  }

  /** The signal aborted. */
  handleEvent(): void {
    this.finish('cancelled');
  }

  next(value: T): void {
    if (this.over) return;
    const queued = this.queue !== undefined && this.queue.length > 0;
    const bytes = this.options.bytes;
    if (!this.waiting || (!queued && bytes !== undefined && this.sink.bufferedBytes < bytes.share())) {
      let more: boolean;
      try {
        more = this.sink.write(value);
      } catch (err) {
        this.failSend(err);
        return;
      }
      if (!more && !this.over && !this.waiting) this.waitDrain();
      return;
    }
    this.queue ??= new Queue<T>();
    this.queue.push(value);
    this.count(1);
    if (this.queue.length > this.options.buffer && this.check === undefined) {
      this.check = setImmediate(checkpoint, this);
    }
  }

  error(error: unknown): void {
    if (this.over) return;
    this.sourceEnd = { error };
    if (!this.waiting) this.endSink();
  }

  complete(): void {
    if (this.over) return;
    this.sourceEnd = 'complete';
    if (!this.waiting) this.endSink();
  }

  /**
   * Runs once the microtasks are done, so the connection has taken all it would of a synchronous burst:
   * what is still queued beyond `buffer` is what a slow reader left, and the policy applies.
   */
  checkpoint(): void {
    this.check = undefined;
    const { buffer, overflow, stats } = this.options;
    const excess = (this.queue?.length ?? 0) - buffer;
    if (this.over || excess <= 0) return;
    if (overflow === 'error') {
      const e = rpcError(
        'RESOURCE_EXHAUSTED',
        `stream buffer of ${buffer} items is full: the reader is too slow`,
      );
      this.sink.error(e.code, e.message);
      this.options.owner?.pumpFailed(e);
      this.finish('overflow');
      return;
    }
    if (overflow === 'drop-oldest') this.queue!.dropOldest(excess);
    else this.queue!.dropNewest(excess);
    this.count(-excess);
    if (stats) stats.dropped += excess;
  }

  private finish(end: PumpEnd): void {
    if (this.over) return;
    const entered = this.entered();
    this.over = true;
    if (entered) this.options.bytes?.leave();
    if (this.queue !== undefined) {
      this.count(-this.queue.length);
      this.queue.clear();
    }
    if (this.check !== undefined) clearImmediate(this.check);
    this.options.signal.removeEventListener('abort', this);
    try {
      this.subscriber?.unsubscribe();
    } catch {
      // The source's teardown threw (RxJS's UnsubscriptionError): the pump has ended all the same.
    }
    this.done.pumpEnded(end);
  }

  /** It has entered the byte budget (started, and not stopped before its subscription). */
  private entered(): boolean {
    return this.started;
  }

  private count(delta: number): void {
    const stats = this.options.stats;
    if (stats) stats.buffered += delta;
  }

  private endSink(): void {
    const end = this.sourceEnd;
    if (end === 'complete') {
      this.sink.close();
      this.finish('complete');
    } else if (end) {
      const owner = this.options.owner;
      const e = errorToWire(end.error, this.options.errors, owner?.errorWhere());
      this.sink.error(e.code, e.message, e.details);
      owner?.pumpFailed(rpcError(e.code, e.message, { cause: end.error }));
      this.finish('error');
    }
  }

  private waitDrain(): void {
    this.waiting = true;
    this.sink.drained().then(
      () => this.onDrained(),
      (err: unknown) => this.failSend(err),
    );
  }

  private onDrained(): void {
    if (this.over) return;
    const queue = this.queue;
    while (queue !== undefined && queue.length > 0) {
      this.count(-1);
      let more: boolean;
      try {
        more = this.sink.write(queue.shift());
      } catch (err) {
        this.failSend(err);
        return;
      }
      if (this.over) return;
      if (!more) {
        this.waitDrain();
        return;
      }
    }
    this.waiting = false;
    this.endSink();
  }

  /**
   * A write that failed because the reader or the connection is gone ends the pump quietly; one whose
   * item could not be sent (encoding, size) ends the stream with that error.
   */
  private failSend(err: unknown): void {
    if (this.over) return;
    const e = toRpcError(err);
    if (e.code === 'CANCELLED' || e.code === 'UNAVAILABLE') {
      this.finish('cancelled');
      return;
    }
    this.sink.error(e.code, e.message);
    this.options.owner?.pumpFailed(e);
    this.finish('error');
  }
}

/** A checkpoint timer's callback, shared by every pump (no closure per stall). */
function checkpoint(pump: PushPump<unknown>): void {
  pump.checkpoint();
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
