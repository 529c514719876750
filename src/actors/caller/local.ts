/**
 * In-process dispatch: a ref to an actor of this system. Calls go through the actor's mailbox like
 * remote ones, with the same deadlines (inherited from the calling handler too), cancellation, errors
 * (every failure is an RpcError) and result shapes (a stream result is subscribed when the caller
 * subscribes), but nothing is serialized: arguments and results are passed BY REFERENCE, not copied —
 * do not mutate an object after passing it. A function argument reaches the handler as an async
 * function (as it would remotely); an Observable argument is the caller's own object. Local calls are
 * not checked against `allow` lists (the caller is this process; `callContext().caller.local` is true).
 */
import { Subscriber, type Subscription } from 'rxjs';
import type { HostedActor } from '../callee/hosted.js';
import { capabilityTarget, type Outcome, type Target } from '../callee/target.js';
import { badCallTimeout } from '../config.js';
import { CallScope, currentScope, LOCAL_CALLER, onSignal } from '../context.js';
import type { Counters } from '../counters.js';
import { asyncCallbacks } from '../ends.js';
import { type ErrorMapper, errorToLocal } from '../error-policy.js';
import { type RpcError, rpcError, toRpcError } from '../errors.js';
import type { InterceptorChains, OutgoingCall } from '../interceptors.js';
import { isStreamLike, toObservable } from '../invoke.js';
import type { CallOptions } from '../types.js';
import { Call, type ItemObserver, type StreamResult } from './call.js';
import { interceptCall } from './intercept.js';
import type { RefInvoker } from './ref.js';

const NO_TIMEOUT = { ms: undefined, unaryOnly: false } as const;

export class LocalInvoker implements RefInvoker {
  constructor(
    private readonly actor: string,
    private readonly lookup: (name: string) => HostedActor | undefined,
    private readonly interceptors: InterceptorChains,
    private readonly report: (err: unknown) => void,
    private readonly counters: Counters,
    /** The system's `mapError`: a handler's error that is not an RpcError goes through it (error-policy.ts). */
    private readonly mapError?: ErrorMapper,
  ) {}

  call(method: string, args: unknown[], options: CallOptions): Call<unknown> {
    const chain = this.interceptors.client;
    if (chain.length === 0) return this.direct(method, args, options);
    const outgoing: OutgoingCall = { actor: this.actor, method, args, options, peer: undefined };
    return interceptCall(chain, this, outgoing, this.send);
  }

  /** A call past the client interceptors. */
  private readonly send = (c: OutgoingCall): Call<unknown> =>
    this.direct(c.method, c.args as unknown[], c.options);

  private direct(method: string, args: unknown[], options: CallOptions): Call<unknown> {
    const call = new Call<unknown>(this, method, args, options);
    let cell: HostedActor;
    try {
      const badTimeout = badCallTimeout(options.timeoutMs);
      if (badTimeout !== undefined) throw rpcError('INVALID_ARGUMENT', `${method}: ${badTimeout}`);
      cell = this.admitted(method, options.key);
    } catch (err) {
      const e = toRpcError(err);
      this.counters.madeEnd(e, false);
      call.reject(e);
      return call;
    }
    const parent = options.detached ? undefined : currentScope();
    const defaults = cell.defaultTimeout(method);
    const own = options.timeoutMs || defaults.ms;
    const inherited = parent?.deadline;
    let timeout = own;
    if (inherited !== undefined) {
      const left = Math.max(1, inherited - Date.now());
      timeout = own === undefined ? left : Math.min(own, left);
    }
    const local = new LocalCall(
      call,
      this.actor,
      method,
      timeout,
      options,
      parent,
      this.report,
      this.counters,
      this.mapError,
    );
    local.scope.intercept(this.interceptors.server);
    local.unaryDeadline = options.timeoutMs === undefined && inherited === undefined && defaults.unaryOnly;
    local.scope.key = options.key;
    if (local.started()) cell.enqueue(method, asyncCallbacks(args), local.scope, local);
    return call;
  }

  target(options: CallOptions): Target {
    const cell = this.lookup(this.actor);
    if (cell) return capabilityTarget(cell, options.key);
    const actor = this.actor;
    const missing = () => {
      throw rpcError('NOT_FOUND', `no actor named ${actor}`);
    };
    return {
      actor,
      admit: missing,
      defaultTimeout: () => NO_TIMEOUT,
      streamOptions: () => ({}),
      dispatch: missing,
    };
  }

  private admitted(method: string, key: string | undefined): HostedActor {
    const cell = this.lookup(this.actor);
    if (!cell) throw rpcError('NOT_FOUND', `no actor named ${this.actor}`);
    if (key === undefined) cell.admit(method, LOCAL_CALLER);
    else cell.admitKeyed(method, LOCAL_CALLER);
    return cell;
  }
}

/** One local call: its scope, its outcome, and its stream result when the handler returns one. */
class LocalCall implements Outcome, StreamResult {
  readonly scope: CallScope;
  unaryDeadline = false;
  private source: unknown;
  private observer: ItemObserver | undefined;
  private subscription: Subscription | undefined;
  private unlinkSignal: () => void;
  private done = false;
  /** Why the call failed; undefined: it succeeded (for `onEnd` listeners). */
  private failure: RpcError | undefined;

  constructor(
    private readonly call: Call<unknown>,
    actor: string,
    private readonly method: string,
    timeoutMs: number | undefined,
    options: CallOptions,
    private readonly parent: CallScope | undefined,
    private readonly report: (err: unknown) => void,
    private readonly counters: Counters,
    private readonly mapError: ErrorMapper | undefined,
  ) {
    this.scope = new CallScope(LOCAL_CALLER, actor, method, timeoutMs, options.metadata, (reason) =>
      this.aborted(reason),
    );
    this.unlinkSignal = onSignal(options.signal, (reason) => this.scope.abort(reason));
    if (parent !== undefined) {
      if (parent.aborted) this.scope.abort(parent.reason!);
      else parent.addEventListener('abort', this);
    }
    call.onCancel((reason) => this.scope.abort(reason));
  }

  /** False when the call was aborted before it could be posted. */
  started(): boolean {
    return !this.scope.aborted;
  }

  /** The calling handler was aborted: so is this call. */
  handleEvent(): void {
    this.scope.abort(
      this.parent?.reason ?? rpcError('CANCELLED', `${this.method}: the calling handler ended`),
    );
  }

  resolve(result: unknown): void {
    if (this.done) return;
    if (!isStreamLike(result)) {
      this.end();
      this.call.resolveValue(result);
      return;
    }
    if (this.unaryDeadline) this.scope.dropDeadline();
    this.source = result;
    this.counters.streamsIn++;
    this.call.resolveStream(this);
  }

  reject(err: unknown): void {
    if (this.done) return;
    this.failure = errorToLocal(this.scope.reason ?? err, this.mapError);
    this.end();
    this.call.reject(this.failure);
  }

  start(observer: ItemObserver): void {
    if (this.done) {
      observer.error(this.scope.reason ?? rpcError('CANCELLED', `${this.method}: the call already ended`));
      return;
    }
    this.observer = observer;
    const subscriber = new Subscriber<unknown>({
      next: (v) => this.observer?.next(v),
      error: (err: unknown) => {
        const o = this.observer;
        this.failure = errorToLocal(err, this.mapError);
        this.end();
        o?.error(this.failure);
      },
      complete: () => {
        const o = this.observer;
        this.end();
        o?.complete();
      },
    });
    this.subscription = subscriber;
    toObservable(this.source as AsyncIterable<unknown>).subscribe(subscriber);
  }

  cancel(reason: RpcError): void {
    this.observer = undefined;
    this.scope.abort(reason);
  }

  pause(): void {}

  resume(): void {}

  /** The scope aborted (deadline, signal, the caller's cancel, the calling handler). */
  private aborted(reason: RpcError): void {
    if (this.done) return;
    const observer = this.observer;
    this.failure = reason;
    this.end();
    if (observer !== undefined) observer.error(reason);
    else this.call.reject(reason);
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.observer = undefined;
    this.subscription?.unsubscribe();
    this.scope.dispose();
    this.unlinkSignal();
    this.parent?.removeEventListener('abort', this);
    this.counters.madeEnd(this.failure, this.source !== undefined);
    const scope = this.scope;
    if (scope.endHeard) {
      const error = this.failure;
      const stream = this.source !== undefined;
      scope.ended(
        error === undefined ? { code: 'OK', stream } : { code: error.code, error, stream },
        this.report,
      );
    }
  }
}
