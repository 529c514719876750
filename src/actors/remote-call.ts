/**
 * The caller's side of one call over a connection: build the call message with its reply channel, keep
 * it in the link's pending-call table, enforce the deadline and the caller's AbortSignal, and read the
 * reply. Three readers share {@link OutboundCall}: a promise (unary), a cold Observable (stream) and
 * an async iterator (stream, pulling — the reply channel's own backpressure reaches the server).
 *
 * Ending a call early (signal, unsubscribe, iterator `return()`) cancels its reply channel; the server
 * sees CHANNEL_CANCELLED and aborts the handler's signal. A deadline fails the call at once but leaves
 * the reply channel to the callee's own deadline for a moment (see `OutboundCall.expire`).
 */
import { Observable } from 'rxjs';
import { Receiver, type ReceiverObserver, type Sender } from '../transport/channel/index.js';
import { isTransportError } from '../transport/errors.js';
import { encodeArgs } from './args.js';
import { Stream } from './call.js';
import { onSignal } from './context.js';
import { type RpcError, rpcError, toRpcError } from './errors.js';
import { isThenable } from './invoke.js';
import type { Link, PendingCall } from './link.js';
import type { Roster, RosterEntry } from './roster.js';
import type { CallOptions } from './types.js';
import type { CallMessage } from './wire.js';

/** Where a call goes: a link and the mailbox channel on it. */
export interface Route {
  readonly link: Link;
  readonly mailbox: Sender<unknown>;
}

/** Gives the route now, or once connected (it may dial). Throws or rejects: the call fails with it. */
export type RouteSource = () => Route | Promise<Route>;

/** What `onSignal` and a synchronous route return: nothing to undo. */
const NOTHING = (): void => {};

/**
 * The reason a call's `ended` signal aborts with. A constant: `abort()` without a reason builds a
 * DOMException with a stack, which was the largest single cost of a call.
 */
const CALL_ENDED = rpcError('CANCELLED', 'the call ended');

/** Waits for a route: a reader of one call. */
interface RouteWaiter {
  /** The route is there: make the call. */
  go(route: Route): void;
  /** No route (dial failed, deadline or signal while waiting for one). */
  fail(err: RpcError): void;
}

/**
 * One call in flight; see the file comment. Per call it holds what it must (a reply channel, a slot in
 * the link's pending table) and makes the rest only when needed: the AbortController that stops stream
 * and callback arguments only when there is one, the deadline timer only with a deadline, the signal
 * listener only with a signal.
 */
class OutboundCall implements PendingCall {
  readonly reply = new Receiver<unknown>();
  rosterOf: Roster<RosterEntry> | undefined = undefined;
  rosterPrev: RosterEntry | undefined = undefined;
  rosterNext: RosterEntry | undefined = undefined;
  private ended: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unlink: () => void = NOTHING;
  private over = false;

  constructor(
    private readonly route: Route,
    private readonly method: string,
    private readonly args: unknown[],
    private readonly stream: boolean,
    private readonly deadline: number | undefined,
    private readonly signal: AbortSignal | undefined,
    private readonly onFail: (err: RpcError) => void,
  ) {}

  /** Send the call. False when it failed at once (onFail has run). */
  start(): boolean {
    const link = this.route.link;
    try {
      link.begin(this);
    } catch (err) {
      this.over = true;
      this.onFail(toRpcError(err));
      return false;
    }
    const message: CallMessage = { m: this.method, a: this.args, r: this.reply };
    if (this.deadline !== undefined) {
      const remaining = Math.ceil(this.deadline - Date.now());
      if (remaining <= 0) return this.failNow(deadlineError(this.method));
      this.timer = setTimeout(expire, remaining, this);
      message.t = remaining;
    }
    if (this.stream) message.s = 1;
    if (this.signal !== undefined) {
      this.unlink = onSignal(this.signal, (reason) => this.fail(reason));
      if (this.over) return false;
    }
    try {
      const encoded = encodeArgs(link, this.args, this);
      message.a = encoded.values;
      if (encoded.kinds) message.x = encoded.kinds;
    } catch (err) {
      return this.failNow(toRpcError(err, 'INVALID_ARGUMENT'));
    }
    this.route.mailbox.send(message).catch((err) => this.fail(sendError(err)));
    return true;
  }

  /** Aborts when the call ends: stops its stream and callback arguments. Made on first use. */
  endSignal(): AbortSignal {
    this.ended ??= new AbortController();
    if (this.over) this.ended.abort(CALL_ENDED);
    return this.ended.signal;
  }

  /** End the call with `err` (once): cancel the reply channel, stop the arguments, tell the reader. */
  fail(err: RpcError): void {
    if (this.over) return;
    this.over = true;
    this.cleanup();
    // Tell the reader first: cancelling completes the reply's subscriber, which must not look like an end.
    this.onFail(err);
    this.reply.cancel();
  }

  /**
   * The deadline passed: the call fails now, but its reply channel is not cancelled at once. The callee
   * armed the same deadline when the call arrived (a little later than ours), so its own timer is about
   * to end the handler with DEADLINE_EXCEEDED and answer; cancelling first would make the handler see
   * our cancel instead (CANCELLED, or DEADLINE_EXCEEDED only by its skew rule). The link cancels the
   * channel after a grace if the callee does not end it (see Link.linger).
   */
  expire(): void {
    if (this.over) return;
    this.over = true;
    this.cleanup();
    this.onFail(deadlineError(this.method));
    this.route.link.linger(this.reply);
  }

  /** The reader got the end it wanted. */
  finish(): void {
    if (this.over) return;
    this.over = true;
    this.cleanup();
  }

  private failNow(err: RpcError): false {
    this.fail(err);
    return false;
  }

  private cleanup(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.unlink();
    this.ended?.abort(CALL_ENDED);
    this.route.link.end(this);
  }
}

/** A deadline timer's callback, shared by every call (no closure per call). */
function expire(call: OutboundCall): void {
  call.expire();
}

/**
 * The reader of a unary call: waits for the route, makes the call, reads its one reply. One object per
 * call that is at once the route waiter and the reply's observer (no closure per step); it reads the
 * reply with `Receiver.consume`, which needs no RxJS subscriber objects.
 */
class UnaryReader implements RouteWaiter, ReceiverObserver<unknown> {
  private call: OutboundCall | undefined;
  private answered = false;
  /** Set by {@link takeResolvers} while the call's promise is made. */
  resolve!: (value: unknown) => void;
  fail!: (err: RpcError) => void;

  constructor(
    private readonly source: RouteSource,
    private readonly method: string,
    private readonly args: unknown[],
    private readonly options: CallOptions,
    readonly deadline: number | undefined,
  ) {}

  go(route: Route): void {
    const call = new OutboundCall(
      route,
      this.method,
      this.args,
      false,
      this.deadline,
      this.options.signal,
      this.fail,
    );
    if (!call.start()) return;
    this.call = call;
    call.reply.consume(this);
  }

  next(message: unknown): void {
    if (this.answered) return;
    this.answered = true;
    const call = this.call!;
    const reply = message as { v?: unknown; s?: unknown } | null;
    if (reply === null || typeof reply !== 'object' || Array.isArray(reply)) {
      call.fail(rpcError('INTERNAL', `${this.method}: malformed reply`));
    } else if (reply.s === 1) {
      call.finish();
      const { source, method, args, options } = this;
      this.resolve(
        new Stream(
          (s) => streamCall(source, method, args, options).subscribe(s),
          () => iterateCall(source, method, args, options),
        ),
      );
    } else {
      call.finish();
      this.resolve(reply.v);
    }
  }

  error(err: unknown): void {
    this.call!.fail(toRpcError(err));
  }

  complete(): void {
    if (!this.answered)
      this.call!.fail(rpcError('INTERNAL', `${this.method}: the reply channel ended without a reply`));
  }
}

/** The reader whose promise is being made (see {@link unaryCall}). */
let making: UnaryReader | undefined;

/** The executor of every unary call's promise: a module function, so no closure is made per call. */
function takeResolvers(resolve: (value: unknown) => void, reject: (err: RpcError) => void): void {
  making!.resolve = resolve;
  making!.fail = reject;
}

/** A unary call: the value, or a {@link Stream} when the method returned one (see call.ts). */
export function unaryCall(
  source: RouteSource,
  method: string,
  args: unknown[],
  options: CallOptions,
): Promise<unknown> {
  const reader = new UnaryReader(source, method, args, options, deadlineOf(options));
  making = reader;
  const promise = new Promise(takeResolvers);
  making = undefined;
  withRoute(source, method, reader.deadline, options.signal, reader);
  return promise;
}

/** A stream call per subscription; unsubscribing cancels it. */
export function streamCall(
  source: RouteSource,
  method: string,
  args: unknown[],
  options: CallOptions,
): Observable<unknown> {
  return new Observable((subscriber) => {
    const deadline = deadlineOf(options);
    let call: OutboundCall | undefined;
    const fail = (err: RpcError) => subscriber.error(err);
    const stop = withRoute(source, method, deadline, options.signal, {
      fail,
      go(route) {
        const c = new OutboundCall(route, method, args, true, deadline, options.signal, fail);
        call = c;
        if (!c.start()) return;
        c.reply.subscribe({
          next: (v) => subscriber.next(v),
          error: (err: unknown) => c.fail(toRpcError(err)),
          complete: () => {
            c.finish();
            subscriber.complete();
          },
        });
      },
    });
    return () => {
      stop();
      call?.fail(rpcError('CANCELLED', `${method}: unsubscribed`));
    };
  });
}

/** A stream call read by pulling: the server's source waits for the reads (channel backpressure). */
export function iterateCall(
  source: RouteSource,
  method: string,
  args: unknown[],
  options: CallOptions,
): AsyncIterator<unknown> {
  let call: OutboundCall | undefined;
  let inner: AsyncIterator<unknown> | undefined;
  let failure: RpcError | undefined;
  // Interrupts the read in progress. Each read gets its own promise: racing every read against one
  // long-lived "failed" promise would leave a reaction on it per item, for as long as the stream lasts.
  let interrupt: ((err: RpcError) => void) | undefined;
  const onFail = (err: RpcError) => {
    failure ??= err;
    interrupt?.(failure);
  };
  let started: Promise<void> | undefined;
  const start = () =>
    new Promise<void>((resolve) => {
      const deadline = deadlineOf(options);
      withRoute(source, method, deadline, options.signal, {
        fail(err) {
          onFail(err);
          resolve();
        },
        go(route) {
          call = new OutboundCall(route, method, args, true, deadline, options.signal, onFail);
          if (call.start()) inner = call.reply[Symbol.asyncIterator]();
          resolve();
        },
      });
    });
  return {
    async next() {
      started ??= start();
      await started;
      if (failure) throw failure;
      try {
        const r = await new Promise<IteratorResult<unknown>>((resolve, reject) => {
          interrupt = reject;
          inner!.next().then(resolve, reject);
        });
        interrupt = undefined;
        if (r.done) call!.finish();
        return r;
      } catch (err) {
        interrupt = undefined;
        const e = failure ?? toRpcError(err);
        call?.fail(e);
        throw e;
      }
    },
    async return() {
      call?.fail(rpcError('CANCELLED', `${method}: iteration stopped`));
      onFail(rpcError('CANCELLED', `${method}: iteration stopped`));
      return { value: undefined, done: true };
    },
  };
}

/**
 * Run `go` with the route, now when it is there, or once connected: the wait for a connection counts
 * against the deadline and the signal. Returns a function that abandons the wait.
 */
function withRoute(
  source: RouteSource,
  method: string,
  deadline: number | undefined,
  signal: AbortSignal | undefined,
  waiter: RouteWaiter,
): () => void {
  let route: Route | Promise<Route>;
  try {
    route = source();
  } catch (err) {
    waiter.fail(toRpcError(err, 'UNAVAILABLE'));
    return NOTHING;
  }
  if (!isThenable(route)) {
    waiter.go(route);
    return NOTHING;
  }
  return awaitRoute(route, method, deadline, signal, waiter);
}

/**
 * {@link withRoute} when the route is not there yet (it dials). Its own function so that the closures
 * below, and the context they share, are made only on this path, not on every call.
 */
function awaitRoute(
  route: Promise<Route>,
  method: string,
  deadline: number | undefined,
  signal: AbortSignal | undefined,
  waiter: RouteWaiter,
): () => void {
  let done = false;
  const settle = () => {
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    unlink();
  };
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(
          () => {
            settle();
            waiter.fail(deadlineError(method));
          },
          Math.max(0, deadline - Date.now()),
        );
  const unlink = onSignal(signal, (reason) => {
    if (done) return;
    settle();
    waiter.fail(reason);
  });
  route.then(
    (r) => {
      if (done) return;
      settle();
      waiter.go(r);
    },
    (err) => {
      if (done) return;
      settle();
      waiter.fail(toRpcError(err, 'UNAVAILABLE'));
    },
  );
  return settle;
}

function deadlineOf(options: CallOptions): number | undefined {
  return options.timeoutMs ? Date.now() + options.timeoutMs : undefined;
}

function deadlineError(method: string): RpcError {
  return rpcError('DEADLINE_EXCEEDED', `${method}: deadline exceeded`);
}

/** A call that could not be sent: a mailbox the peer closed means the actor is gone for us. */
function sendError(err: unknown): RpcError {
  if (isTransportError(err, 'CHANNEL_CANCELLED') || isTransportError(err, 'STREAM_CLOSED')) {
    return rpcError('UNAVAILABLE', `the peer closed the mailbox: ${err.message}`, { cause: err });
  }
  return toRpcError(err, 'INVALID_ARGUMENT');
}
