/**
 * What a ref's method returns. The ref cannot know at run time whether the method returns a value or a
 * stream (there is no code generation), so it returns a {@link Call}: an object that is at once
 *
 * - a cold Observable: each `subscribe()` makes one stream call, and unsubscribing cancels it;
 * - an async iterable: iterating makes one stream call that the server's source follows at the pace of
 *   the reads (backpressure end to end);
 * - a thenable: the first `then()` (or `await`) makes one unary call, shared by later `then()`s.
 *
 * When none of these happened by the end of the current microtask, a unary call is made anyway, so
 * `ref.notify(x)` without `await` still runs (a failure of a call nobody awaits is dropped). A stream
 * method's result should therefore be subscribed or iterated in the same tick it is obtained (operators
 * like `pipe` do not count; `defer(() => ref.ticks())` makes it fully lazy).
 *
 * Awaiting a stream method resolves to a {@link Stream} that makes a fresh stream call per subscription,
 * matching TypeScript's view that `await observable` is the observable.
 */
import { Observable, type Subscriber, type Subscription, type TeardownLogic } from 'rxjs';
import type { CallOptions } from './types.js';

/** How a ref reaches its target: the local mailbox, or a connection. */
export interface Invoker {
  /** One unary call: the value, or a {@link Stream} when the method returned a stream. */
  unary(method: string, args: unknown[], options: CallOptions): Promise<unknown>;
  /** A cold Observable: one stream call per subscription. */
  stream(method: string, args: unknown[], options: CallOptions): Observable<unknown>;
  /** One stream call, read by pulling; when absent the stream is adapted (buffering what it pushes). */
  iterate?(method: string, args: unknown[], options: CallOptions): AsyncIterator<unknown>;
}

/** An Observable that is also an async iterable (with `iterate`, or by buffering what it pushes). */
export class Stream<T> extends Observable<T> implements AsyncIterable<T> {
  constructor(
    subscribe: (subscriber: Subscriber<T>) => TeardownLogic,
    private readonly iterate?: () => AsyncIterator<T>,
  ) {
    super(subscribe);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.iterate ? this.iterate() : observableIterator(this);
  }
}

/** Marks a call nobody awaits as handled (its failure is dropped; see the file comment). */
const IGNORE = (): void => {};

/**
 * Calls made in the current microtask checkpoint that may still need their unary call started: one
 * queued microtask checks them all (a closure and a microtask per call cost more than the check).
 * Each is checked in a microtask that runs after the one it was made in, as the file comment promises.
 */
let unchecked: Call<unknown>[] = [];

function checkUnused(): void {
  const calls = unchecked;
  unchecked = [];
  for (let i = 0; i < calls.length; i++) {
    try {
      calls[i]!.startIfUnused();
    } catch {
      // Starting a call nobody awaits has nobody to tell; the other calls must still start.
    }
  }
}

/** The subscribe function of every Call (one function for all: no closure per call). */
function subscribeCall(this: Observable<unknown>, subscriber: Subscriber<unknown>): TeardownLogic {
  return (this as unknown as { stream(): Observable<unknown> }).stream().subscribe(subscriber);
}

/** The result of a ref's method; see the file comment. */
export class Call<T> extends Stream<T> implements PromiseLike<T> {
  private used = false;
  private promise: Promise<T> | undefined;

  constructor(
    private readonly invoker: Invoker,
    private readonly method: string,
    private readonly args: unknown[],
    private readonly options: CallOptions,
  ) {
    super(subscribeCall as (this: Observable<T>, subscriber: Subscriber<T>) => TeardownLogic);
    if (unchecked.push(this as Call<unknown>) === 1) queueMicrotask(checkUnused);
  }

  override [Symbol.asyncIterator](): AsyncIterator<T> {
    this.used = true;
    const { invoker, method, args, options } = this;
    if (invoker.iterate) return invoker.iterate(method, args, options) as AsyncIterator<T>;
    return observableIterator(invoker.stream(method, args, options) as Observable<T>);
  }

  /** A handler returned this Call as its stream: it will be subscribed or iterated, so no unary call is made. */
  claim(): this {
    this.used = true;
    return this;
  }

  // biome-ignore lint/suspicious/noThenProperty: a Call is deliberately a thenable
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.used = true;
    return this.start().then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    this.used = true;
    return this.start().finally(onFinally);
  }

  /** The stream call of one subscription (called by {@link subscribeCall}). */
  private stream(): Observable<T> {
    this.used = true;
    return this.invoker.stream(this.method, this.args, this.options) as Observable<T>;
  }

  /** After the microtask the Call was made in: make the unary call if nothing else did. @internal */
  startIfUnused(): void {
    // A call nobody awaits must not become an unhandled rejection; awaiting callers still see it.
    if (!this.used) this.start().catch(IGNORE);
  }

  private start(): Promise<T> {
    this.promise ??= this.invoker.unary(this.method, this.args, this.options) as Promise<T>;
    return this.promise;
  }
}

/**
 * Reads an Observable by pulling. It subscribes on the first `next()` and buffers what the Observable
 * pushes meanwhile (without bound: use it only for sources in this process); `return()` unsubscribes.
 */
export function observableIterator<T>(source: Observable<T>): AsyncIterator<T> {
  const values: T[] = [];
  const waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  let subscription: Subscription | undefined;
  let ended: { error: unknown } | 'complete' | undefined;

  const settle = () => {
    while (waiting.length > 0 && (values.length > 0 || ended)) {
      const w = waiting.shift()!;
      if (values.length > 0) w.resolve({ value: values.shift()!, done: false });
      else if (ended === 'complete') w.resolve({ value: undefined, done: true });
      else w.reject((ended as { error: unknown }).error);
    }
  };
  return {
    next() {
      subscription ??= source.subscribe({
        next: (v) => {
          values.push(v);
          settle();
        },
        error: (error) => {
          ended = { error };
          settle();
        },
        complete: () => {
          ended = 'complete';
          settle();
        },
      });
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        settle();
      });
    },
    return() {
      subscription?.unsubscribe();
      values.length = 0;
      ended ??= 'complete';
      settle();
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}
