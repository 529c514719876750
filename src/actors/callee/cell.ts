/**
 * One hosted actor: its instance (resolved by tsyringe from its own child container), its mailbox, its
 * options and its lifecycle. The first turn of the mailbox creates the instance and runs `onStart`;
 * calls that arrive meanwhile wait behind it. An actor whose start fails is `failed`: every call to it
 * fails with UNAVAILABLE, and the failure is reported once.
 *
 * It stops in three steps, which the system paces (see ActorSystem.close): {@link ActorCell.drain}
 * refuses new calls and answers the queued ones UNAVAILABLE, then waits for the running ones;
 * {@link ActorCell.abortRunning} aborts those still running; {@link ActorCell.stop} runs `onStop`.
 */
import 'reflect-metadata';
import type { DependencyContainer, InjectionToken } from 'tsyringe';
import type { ActorsConfig } from '../config.js';
import { type Caller, type CallScope, runInScope } from '../context.js';
import { type ActorOptions, type MethodOptions, methodOptions } from '../decorators.js';
import { type RpcError, rpcError } from '../errors.js';
import { callableMethods } from '../invoke.js';
import { Roster, type RosterEntry } from '../roster.js';
import { authorize } from './authorize.js';
import { Mailbox, type MailboxJob } from './mailbox.js';
import type { Outcome } from './target.js';
import { MethodValidator } from './validation.js';

/** Token under which an actor's child container holds the actor's name. */
export const ACTOR_NAME: InjectionToken<string> = 'rxchan.actorName';

/** Lifecycle hooks an actor class may define. Both may be async; both run as a turn of the mailbox. */
export interface ActorLifecycle {
  /** Runs before any call. Throwing (or rejecting) marks the actor failed: it is reported and not served. */
  onStart?(): void | Promise<void>;
  /**
   * Runs when the system closes, once the actor's calls in progress have ended, or have run out of
   * `closeTimeoutMs` and been aborted (their signal fires; a handler that ignores it may still be
   * running). Never after a failed `onStart`. `close()` waits for it. Errors are reported.
   */
  onStop?(): void | Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: actor classes take any constructor parameters
export type ActorClass<T = object> = new (...args: any[]) => T;

export type CellState = 'starting' | 'running' | 'failed' | 'stopping' | 'stopped';

export class ActorCell {
  readonly methods: Set<string>;
  /** The `@method` options of each callable method (looked up once: every call reads them). */
  private readonly perMethod = new Map<string, MethodOptions>();
  /** The checks of methods that declare schemas (none: undefined, and no lookup per call). */
  private readonly validators: Map<string, MethodValidator> | undefined;
  readonly container: DependencyContainer;
  /** Settles when `onStart` has run: rejects with its error (already handled: awaiting is optional). */
  readonly ready: Promise<void>;
  private instance: (object & ActorLifecycle) | undefined;
  private readonly mailbox: Mailbox;
  private status: CellState = 'starting';
  private started = false;
  /** The calls whose handler is running (entered {@link run}, no outcome yet): what a stop aborts. */
  private readonly running = new Roster<CellJob>();
  private draining: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly cls: ActorClass,
    readonly options: ActorOptions,
    parent: DependencyContainer,
    config: ActorsConfig,
    private readonly report: (err: unknown) => void,
  ) {
    this.methods = callableMethods(cls);
    const validators = new Map<string, MethodValidator>();
    for (const m of this.methods) {
      const o = methodOptions(cls, m);
      if (o) this.perMethod.set(m, o);
      if (o?.params !== undefined || o?.result !== undefined) {
        validators.set(m, new MethodValidator(name, m, o.params, o.result, report));
      }
    }
    this.validators = validators.size > 0 ? validators : undefined;
    this.container = parent.createChildContainer();
    this.container.register(ACTOR_NAME, { useValue: name });
    this.mailbox = new Mailbox(name, options.concurrency ?? 1, config.maxMailbox);
    this.ready = this.mailbox.post(() => this.start());
    this.ready.catch((err) => {
      report(rpcError('UNAVAILABLE', `actor ${name} failed to start: ${describe(err)}`, { cause: err }));
    });
  }

  get state(): CellState {
    return this.status;
  }

  /** The `@method` options of `method`, if any. */
  methodOptions(method: string): MethodOptions | undefined {
    return this.perMethod.get(method);
  }

  /**
   * Throws the reason `caller` cannot call `method`: UNIMPLEMENTED (no such method), PERMISSION_DENIED
   * (not allowed by the actor's or the method's `allow`), UNAVAILABLE (failed, stopping or stopped actor).
   */
  admit(method: string, caller: Caller): void {
    if (this.status === 'failed' || this.status === 'stopping' || this.status === 'stopped') {
      throw rpcError('UNAVAILABLE', `actor ${this.name} is ${this.status}`);
    }
    if (!this.methods.has(method))
      throw rpcError('UNIMPLEMENTED', `actor ${this.name} has no method ${method}`);
    const methodAllow = this.perMethod.get(method)?.allow;
    if (this.options.allow !== undefined || methodAllow !== undefined) {
      authorize(`${this.name}.${method}`, this.options.allow, methodAllow, caller);
    }
  }

  /**
   * The deadline of a call that sets none: the method's `timeoutMs` if it has one (0: none; it bounds a
   * stream result too), else the actor's, which bounds only a call whose result is not a stream
   * (`unaryOnly`). `ms` undefined: no deadline.
   */
  defaultTimeout(method: string): { ms: number | undefined; unaryOnly: boolean } {
    const m = this.methodOptions(method)?.timeoutMs;
    if (m !== undefined) return { ms: m || undefined, unaryOnly: false };
    return { ms: this.options.timeoutMs || undefined, unaryOnly: true };
  }

  /**
   * Run `method` as one turn of the mailbox, after the calls before it. Resolves with the handler's
   * result (a promise is awaited, an Observable or AsyncIterable is returned as it is); rejects with what
   * the handler threw, with the signal's reason when the call was aborted while it waited, or with
   * RESOURCE_EXHAUSTED / UNAVAILABLE from the mailbox. Does not check authorization (see {@link admit}).
   */
  dispatch(method: string, args: readonly unknown[], scope: CallScope): Promise<unknown> {
    return new Promise((resolve, reject) => this.enqueue(method, args, scope, { resolve, reject }));
  }

  /**
   * {@link dispatch} without a promise: `outcome` gets the result or the error (at once, before this
   * returns, when the mailbox refuses the call or the handler ends synchronously).
   */
  enqueue(method: string, args: readonly unknown[], scope: CallScope, outcome: Outcome): void {
    this.mailbox.enqueue(new CellJob(this, method, args, scope, outcome));
  }

  /**
   * The turn of one call: runs the handler inside the call's scope (so `callContext()` is its context)
   * with exactly the arguments the caller sent, or throws why it cannot run.
   */
  run(method: string, args: readonly unknown[], scope: CallScope): unknown {
    if (!this.started || this.status === 'failed') {
      throw rpcError('UNAVAILABLE', `actor ${this.name} is ${this.status}`);
    }
    // A call whose deadline passed or that was cancelled while it waited does not run.
    const aborted = scope.reason;
    if (aborted !== undefined) throw aborted;
    const instance = this.instance as Record<string, unknown>;
    const fn = instance[method];
    if (typeof fn !== 'function')
      throw rpcError('UNIMPLEMENTED', `actor ${this.name} has no method ${method}`);
    return runInScope(scope, fn, instance, args, this.validators?.get(method));
  }

  /** Messages waiting in the mailbox. */
  get queued(): number {
    return this.mailbox.size;
  }

  /**
   * The first step of a stop: refuse new calls (UNAVAILABLE), and answer the calls still queued
   * UNAVAILABLE at once, without running them. Resolves when the handlers running now have ended (a
   * stream result counts as ended once returned: its items are the connection's to finish). Never
   * rejects. Idempotent.
   */
  drain(): Promise<void> {
    if (this.draining === undefined) {
      if (this.status === 'starting' || this.status === 'running') this.status = 'stopping';
      this.draining = this.mailbox.close();
    }
    return this.draining;
  }

  /**
   * Abort every handler still running with `reason`: its `callContext().signal` fires, a local caller's
   * call fails with `reason` at once (a remote caller learns when its connection ends), and the
   * handler is no longer waited for.
   */
  abortRunning(reason: RpcError): void {
    for (const job of this.running.takeAll()) job.abort(reason);
  }

  /**
   * The last step of a stop: {@link drain} (not waiting for the running handlers: wait for `drain()`
   * first, or abort them), then `onStop` if `onStart` had succeeded, then dispose the child container.
   * Resolves when that is done; errors of `onStop` and of the disposal are reported, never thrown.
   * Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.finish();
    return this.stopping;
  }

  private async finish(): Promise<void> {
    void this.drain();
    try {
      if (this.started) await this.instance?.onStop?.();
    } catch (err) {
      this.report(
        rpcError('INTERNAL', `actor ${this.name}: onStop failed: ${describe(err)}`, { cause: err }),
      );
    }
    try {
      await this.container.dispose();
    } catch (err) {
      this.report(err);
    }
    this.status = 'stopped';
  }

  /** A call's handler starts: it is running until its outcome. */
  enter(job: CellJob): void {
    this.running.add(job);
  }

  /** A call's handler has its outcome (or never ran). */
  leave(job: CellJob): void {
    this.running.delete(job);
  }

  private async start(): Promise<void> {
    try {
      const instance = this.container.resolve(this.cls as ActorClass<object & ActorLifecycle>);
      this.instance = instance;
      await instance.onStart?.();
      this.started = true;
      if (this.status === 'starting') this.status = 'running';
    } catch (err) {
      // Set here, not in a .catch of `ready`, so the calls queued behind the start already see it.
      this.status = 'failed';
      throw err;
    }
  }
}

/** A call as a turn of a cell's mailbox (one object per call: no closures). */
class CellJob implements MailboxJob, RosterEntry {
  rosterOf: Roster<RosterEntry> | undefined = undefined;
  rosterPrev: RosterEntry | undefined = undefined;
  rosterNext: RosterEntry | undefined = undefined;

  constructor(
    private readonly cell: ActorCell,
    private readonly method: string,
    private readonly args: readonly unknown[],
    private readonly scope: CallScope,
    private readonly outcome: Outcome,
  ) {}

  run(): unknown {
    this.cell.enter(this);
    return this.cell.run(this.method, this.args, this.scope);
  }

  resolve(value: unknown): void {
    this.cell.leave(this);
    this.outcome.resolve(value);
  }

  reject(err: unknown): void {
    this.cell.leave(this);
    this.outcome.reject(err);
  }

  /** The system is closing and the handler ran out of time (see {@link ActorCell.abortRunning}). */
  abort(reason: RpcError): void {
    this.scope.abort(reason);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
