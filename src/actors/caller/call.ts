/**
 * What a ref's method returns: ONE call, started when the method was called. It is at once
 *
 * - a thenable: `await` gives the handler's value, or, for a method that returned a stream, a
 *   {@link ResultStream} over that same call's items (read when subscribed);
 * - an Observable: subscribing reads the result: a value is one item then completion; a stream's items
 *   are the call's (the first subscription starts them; unsubscribing cancels the call; a later
 *   subscription makes a new call with the same arguments);
 * - an async iterable: the same, pulling (the callee's source waits for the reads).
 *
 * Nothing depends on timing: how the result is read never changes what the call is. Unsubscribing (or
 * stopping an iteration) before the result is known cancels the call.
 *
 * The invoker that made the call (remote or local) settles it once with its outcome, through
 * {@link Call.resolveValue}, {@link Call.resolveStream} or {@link Call.reject}.
 */
import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import { type RpcError, rpcError } from '../errors.js';
import type { CallEnd, CallEndListener } from '../interceptors.js';
import type { CallOptions } from '../types.js';

/** What makes a call (a ref's invoker): a second subscription to a stream result makes a new one. */
export interface CallMaker {
  call(method: string, args: unknown[], options: CallOptions): Call<unknown>;
}

/** The consumer side of a stream result's items. */
export interface ItemObserver {
  next(value: unknown): void;
  error(err: RpcError): void;
  complete(): void;
}

/**
 * The items of a stream result, not yet started. A call's stream is read once: the first reader
 * starts it.
 */
export interface StreamResult {
  /** Start the items into `observer` (called at most once); then exactly one of error/complete. */
  start(observer: ItemObserver): void;
  /** Stop: cancel the call (before or after start). `observer` gets nothing more. Idempotent. */
  cancel(reason: RpcError): void;
  /** Stop delivering until {@link resume} (the callee's source waits); for pulling readers. */
  pause(): void;
  resume(): void;
}

/** What a call's reader waits for. */
interface ShapeWaiter {
  settled(call: Call<unknown>): void;
}

const PENDING = 0;
const VALUE = 1;
const STREAM = 2;
const FAILED = 3;
type State = typeof PENDING | typeof VALUE | typeof STREAM | typeof FAILED;

/** Iterator buffer bounds: pause the stream above the high mark, resume at the low one. */
const PULL_HIGH_WATER = 64;
const PULL_LOW_WATER = 8;

export class Call<T = unknown> extends Observable<T> implements PromiseLike<unknown>, AsyncIterable<T> {
  #state: State = PENDING;
  #value: unknown;
  #stream: StreamResult | undefined;
  #error: RpcError | undefined;
  #waiters: ShapeWaiter[] | undefined;
  /** The stream has been started (or cancelled): a later reader makes a new call. */
  #taken = false;
  /** Cancels the call before its outcome is known (set by the invoker). */
  #cancel: ((reason: RpcError) => void) | undefined;
  /** {@link onEnd} listeners, until they are told. */
  #endListeners: CallEndListener[] | undefined;
  /** How the call ended, once it has. */
  #end: CallEnd | undefined;

  /** `maker` makes a new call with the same method, arguments and options (a second subscription). */
  constructor(
    private readonly maker: CallMaker,
    private readonly method: string,
    private readonly args: unknown[],
    private readonly options: CallOptions,
  ) {
    super();
  }

  /** A new call with the same method, arguments and options. */
  private again(): Call<T> {
    return this.maker.call(this.method, this.args, this.options) as Call<T>;
  }

  /** @internal The invoker's way to cancel the call while it has no outcome. */
  onCancel(cancel: (reason: RpcError) => void): void {
    this.#cancel = cancel;
  }

  /**
   * Hear how the call ends: its value or error arrived, or its stream ended (completed, failed, or was
   * cancelled by its reader). Called once (at once when it has ended). A stream result is watched only
   * when the listener was added before the stream is read (as interceptors do). A listener that throws
   * is ignored.
   */
  onEnd(listener: CallEndListener): void {
    // Settled before anyone listened (a local handler that returned at once, a call refused at once).
    if (this.#end === undefined && this.#state !== PENDING) this.#watchLate();
    const end = this.#end;
    if (end !== undefined) {
      tell(listener, end);
      return;
    }
    if (this.#endListeners === undefined) this.#endListeners = [listener];
    else this.#endListeners.push(listener);
  }

  /** The first listener of a call that settled unwatched: its end, or a watch on its unread stream. */
  #watchLate(): void {
    if (this.#state === VALUE) this.#end = VALUE_END;
    else if (this.#state === FAILED)
      this.#end = { code: this.#error!.code, error: this.#error!, stream: false };
    else if (this.#endListeners === undefined && !this.#taken && this.#stream !== undefined) {
      this.#stream = new EndWatch(this.#stream, (end) => this.#ended(end));
    }
  }

  #ended(end: CallEnd): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    const listeners = this.#endListeners;
    this.#endListeners = undefined;
    if (listeners !== undefined) for (const l of listeners) tell(l, end);
  }

  /** @internal The handler's value. Ignored once settled. */
  resolveValue(value: unknown): void {
    if (this.#state !== PENDING) return;
    this.#state = VALUE;
    this.#value = value;
    this.#settled();
    if (this.#endListeners !== undefined) this.#ended(VALUE_END);
  }

  /** @internal The handler returned a stream: its items, not started. Ignored once settled. */
  resolveStream(stream: StreamResult): void {
    if (this.#state !== PENDING) {
      stream.cancel(rpcError('CANCELLED', 'the call already ended'));
      return;
    }
    this.#state = STREAM;
    this.#stream =
      this.#endListeners === undefined ? stream : new EndWatch(stream, (end) => this.#ended(end));
    this.#settled();
  }

  /** @internal The call failed. Ignored once settled. */
  reject(err: RpcError): void {
    if (this.#state !== PENDING) return;
    this.#state = FAILED;
    this.#error = err;
    this.#settled();
    if (this.#endListeners !== undefined) this.#ended({ code: err.code, error: err, stream: false });
  }

  // biome-ignore lint/suspicious/noThenProperty: a Call is deliberately a thenable
  then<R1 = unknown, R2 = never>(
    onFulfilled?: ((value: unknown) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    // One promise per then(): settled by the outcome through the handlers, as a native then() would.
    return new Promise<R1 | R2>((resolve, reject) => {
      this.#wait(new ThenWaiter(resolve, reject, onFulfilled, onRejected));
    });
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<unknown> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<unknown> {
    return this.then().finally(onFinally);
  }

  /** @internal RxJS calls this for each subscribe. */
  protected _subscribe(subscriber: Subscriber<T>): TeardownLogic {
    return this.subscribeResult(subscriber);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.iterateResult();
  }

  /** @internal Read the result as items into `subscriber` (see the file comment). */
  subscribeResult(subscriber: Subscriber<T>): TeardownLogic {
    let reading: StreamResult | undefined;
    let inner: { unsubscribe(): void } | undefined;
    let waiting = true;
    const read = (call: Call<T>) => {
      waiting = false;
      if (subscriber.closed) return;
      if (call.#state === VALUE) {
        subscriber.next(call.#value as T);
        subscriber.complete();
      } else if (call.#state === FAILED) {
        subscriber.error(call.#error);
      } else if (!call.#taken) {
        call.#taken = true;
        reading = call.#stream!;
        reading.start({
          next: (v) => subscriber.next(v as T),
          error: (e) => subscriber.error(e),
          complete: () => subscriber.complete(),
        });
      } else {
        inner = call.again().subscribe(subscriber);
      }
    };
    this.#wait({ settled: read as (call: Call<unknown>) => void });
    return () => {
      if (waiting) this.#cancelPending(`unsubscribed`);
      reading?.cancel(rpcError('CANCELLED', 'unsubscribed'));
      inner?.unsubscribe();
    };
  }

  /** @internal Read the result by pulling (see the file comment). */
  iterateResult(): AsyncIterator<T> {
    return new Pull<T>(this);
  }

  /** @internal Wait for the outcome, then hand it to `reader`. */
  waitOutcome(reader: (call: Call<T>) => void): void {
    this.#wait({ settled: reader as (call: Call<unknown>) => void });
  }

  /** @internal The outcome: state, value, error, and the stream if nobody took it yet (taking it). */
  outcome():
    | { state: 'value'; value: unknown }
    | { state: 'failed'; error: RpcError }
    | { state: 'stream'; stream: StreamResult | undefined } {
    if (this.#state === VALUE) return { state: 'value', value: this.#value };
    if (this.#state === FAILED) return { state: 'failed', error: this.#error! };
    if (this.#taken) return { state: 'stream', stream: undefined };
    this.#taken = true;
    return { state: 'stream', stream: this.#stream };
  }

  /** @internal A new call with the same method, arguments and options. */
  remake(): Call<T> {
    return this.again();
  }

  /** @internal What awaiting the call gives: the value, the stream (as a RemoteStream), or the error. */
  settledOutcome(): { ok: true; value: unknown } | { ok: false; error: RpcError } {
    if (this.#state === VALUE) return { ok: true, value: this.#value };
    if (this.#state === STREAM) return { ok: true, value: new ResultStream<T>(this) };
    return { ok: false, error: this.#error! };
  }

  /** @internal Cancel the call if it has no outcome yet. */
  cancelPending(why: string): void {
    this.#cancelPending(why);
  }

  #cancelPending(why: string): void {
    if (this.#state !== PENDING) return;
    const cancel = this.#cancel;
    this.#cancel = undefined;
    cancel?.(rpcError('CANCELLED', why));
  }

  #wait(waiter: ShapeWaiter): void {
    if (this.#state !== PENDING) {
      waiter.settled(this as Call<unknown>);
      return;
    }
    if (this.#waiters === undefined) this.#waiters = [waiter];
    else this.#waiters.push(waiter);
  }

  #settled(): void {
    this.#cancel = undefined;
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters === undefined) return;
    for (const w of waiters) w.settled(this as Call<unknown>);
  }
}

const VALUE_END: CallEnd = Object.freeze({ code: 'OK', stream: false });

function tell(listener: CallEndListener, end: CallEnd): void {
  try {
    listener(end);
  } catch {
    // A listener's failure changes nothing about the call.
  }
}

/** A stream result whose end is told to `ended` (completion, error, or its reader's cancel). */
class EndWatch implements StreamResult, ItemObserver {
  private observer: ItemObserver | undefined;

  constructor(
    private readonly inner: StreamResult,
    private readonly ended: (end: CallEnd) => void,
  ) {}

  start(observer: ItemObserver): void {
    this.observer = observer;
    this.inner.start(this);
  }

  next(value: unknown): void {
    this.observer?.next(value);
  }

  error(err: RpcError): void {
    this.ended({ code: err.code, error: err, stream: true });
    this.observer?.error(err);
  }

  complete(): void {
    this.ended(STREAM_END);
    this.observer?.complete();
  }

  cancel(reason: RpcError): void {
    this.observer = undefined;
    this.ended({ code: reason.code, error: reason, stream: true });
    this.inner.cancel(reason);
  }

  pause(): void {
    this.inner.pause();
  }

  resume(): void {
    this.inner.resume();
  }
}

const STREAM_END: CallEnd = Object.freeze({ code: 'OK', stream: true });

/** One then(): hands the outcome to its handlers and settles its promise with what they return. */
class ThenWaiter implements ShapeWaiter {
  constructor(
    private readonly resolve: (v: never) => void,
    private readonly reject: (e: unknown) => void,
    private readonly onFulfilled: ((value: unknown) => unknown) | null | undefined,
    private readonly onRejected: ((reason: unknown) => unknown) | null | undefined,
  ) {}

  settled(call: Call<unknown>): void {
    const outcome = call.settledOutcome();
    try {
      if (outcome.ok) {
        const f = this.onFulfilled;
        this.resolve((typeof f === 'function' ? f(outcome.value) : outcome.value) as never);
      } else {
        const r = this.onRejected;
        if (typeof r === 'function') this.resolve(r(outcome.error) as never);
        else this.reject(outcome.error);
      }
    } catch (err) {
      this.reject(err);
    }
  }
}

/**
 * What awaiting a stream method gives: the same call's items, read by the first subscription or
 * iteration (a later one makes a new call). Not a thenable, so it can be awaited or returned as it is.
 */
export class ResultStream<T> extends Observable<T> implements AsyncIterable<T> {
  readonly #call: Call<T>;

  constructor(call: Call<T>) {
    super();
    this.#call = call;
  }

  /** @internal */
  protected _subscribe(subscriber: Subscriber<T>): TeardownLogic {
    return this.#call.subscribeResult(subscriber);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#call.iterateResult();
  }

  /**
   * @internal The items, for another Call to hand on (a client interceptor that awaited a stream
   * call): the call's own stream while nobody read it, else one read through a subscription.
   */
  itemSource(): StreamResult {
    const outcome = this.#call.outcome();
    if (outcome.state === 'stream' && outcome.stream !== undefined) return outcome.stream;
    return new SubscribedStream(this);
  }
}

/** A stream result read through subscribing to an Observable (no pause: the source is pushed). */
class SubscribedStream implements StreamResult {
  private subscription: { unsubscribe(): void } | undefined;
  private stopped = false;

  constructor(private readonly source: Observable<unknown>) {}

  start(observer: ItemObserver): void {
    if (this.stopped) return;
    this.subscription = this.source.subscribe({
      next: (v) => observer.next(v),
      error: (e: RpcError) => observer.error(e),
      complete: () => observer.complete(),
    });
  }

  cancel(): void {
    this.stopped = true;
    this.subscription?.unsubscribe();
  }

  pause(): void {}

  resume(): void {}
}

/**
 * Pulls a call's result: a value is one item; a stream is started on the first next(), paused while the
 * buffer holds {@link PULL_HIGH_WATER} items and resumed at {@link PULL_LOW_WATER}; return() cancels.
 */
class Pull<T> implements AsyncIterator<T> {
  private readonly buffer: unknown[] = [];
  private head = 0;
  private ended: { error: RpcError } | 'complete' | undefined;
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private stream: StreamResult | undefined;
  private inner: AsyncIterator<T> | undefined;
  private started = false;
  private paused = false;
  private stopped = false;

  constructor(private readonly call: Call<T>) {}

  next(): Promise<IteratorResult<T>> {
    if (this.inner !== undefined) return this.inner.next();
    if (!this.started) {
      this.started = true;
      this.call.waitOutcome((call) => this.begin(call));
    }
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head] as T;
      this.buffer[this.head++] = undefined;
      if (this.head === this.buffer.length) {
        this.buffer.length = 0;
        this.head = 0;
      }
      if (this.paused && this.buffer.length - this.head <= PULL_LOW_WATER) {
        this.paused = false;
        this.stream?.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended !== undefined) {
      if (this.ended === 'complete') return Promise.resolve({ value: undefined, done: true });
      const { error } = this.ended;
      this.ended = 'complete';
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.stopped = true;
    if (this.inner !== undefined)
      return this.inner.return?.() ?? Promise.resolve({ value: undefined, done: true });
    if (!this.started) this.started = true;
    this.call.cancelPending('iteration stopped');
    this.stream?.cancel(rpcError('CANCELLED', 'iteration stopped'));
    this.buffer.length = 0;
    this.head = 0;
    this.ended ??= 'complete';
    this.flush();
    return Promise.resolve({ value: undefined, done: true });
  }

  private begin(call: Call<T>): void {
    if (this.stopped) return;
    const outcome = call.outcome();
    if (outcome.state === 'value') {
      this.push(outcome.value);
      this.end('complete');
    } else if (outcome.state === 'failed') {
      this.end({ error: outcome.error });
    } else if (outcome.stream !== undefined) {
      this.stream = outcome.stream;
      outcome.stream.start({
        next: (v) => this.push(v),
        error: (error) => this.end({ error }),
        complete: () => this.end('complete'),
      });
    } else {
      this.inner = call.remake()[Symbol.asyncIterator]();
      const waiting = this.waiting;
      this.waiting = [];
      for (const w of waiting) this.inner.next().then(w.resolve, w.reject);
    }
  }

  /** An item of the result. */
  private push(value: unknown): void {
    const w = this.waiting.shift();
    if (w !== undefined) {
      w.resolve({ value: value as T, done: false });
      return;
    }
    this.buffer.push(value);
    if (!this.paused && this.stream !== undefined && this.buffer.length - this.head >= PULL_HIGH_WATER) {
      this.paused = true;
      this.stream.pause();
    }
  }

  /** The result ended; readers waiting past the buffered items get the end. */
  private end(how: { error: RpcError } | 'complete'): void {
    if (this.ended !== undefined) return;
    this.ended = how;
    if (this.head === this.buffer.length) this.flush();
  }

  private flush(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) {
      const e = this.ended;
      if (e !== undefined && e !== 'complete') {
        this.ended = 'complete';
        w.reject(e.error);
      } else w.resolve({ value: undefined, done: true });
    }
  }
}
