/**
 * One hosted actor: its instance (resolved by tsyringe from a child container of its own), its mailbox,
 * its options and its lifecycle, supervised by its restart policy (see supervisor.ts).
 *
 * A start makes a fresh child container, resolves the instance from it and runs `onStart`; the mailbox
 * is held meanwhile, so the calls that arrive wait for it (within their deadlines and `maxMailbox`). A
 * start that fails, or a handler error that the actor's `fatal` accepts, is a FAILURE. Under `restart:
 * 'never'` the actor is then `failed`: every call to it fails UNAVAILABLE (those queued at once), and
 * the failure is reported once. Under a restart policy it is `restarting`: the handlers running are
 * aborted (UNAVAILABLE), the failed instance is stopped (`onStop` if its start had succeeded, then its
 * container is disposed), and after the backoff a fresh instance starts from a new child container,
 * while calls wait in the mailbox. Each restart is reported; once the restarts are used up, `failed`.
 *
 * It stops in three steps, which the system paces (see ActorSystem.close and unregister):
 * {@link ActorCell.drain} refuses new calls and answers the queued ones UNAVAILABLE, then waits for the
 * running ones (and a start in progress); {@link ActorCell.abortRunning} aborts those still running;
 * {@link ActorCell.stop} runs `onStop`.
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
import { RestartBudget } from './supervisor.js';
import type { Outcome } from './target.js';
import { isRefusedArguments, MethodValidator } from './validation.js';

/** Token under which an actor's child container holds the actor's name. */
export const ACTOR_NAME: InjectionToken<string> = 'rxchan.actorName';

/** Lifecycle hooks an actor class may define. Both may be async; no call runs while either does. */
export interface ActorLifecycle {
  /**
   * Runs before any call, on each new instance. Throwing (or rejecting) is a failure: the actor is
   * failed, or restarted with a fresh instance (see `@actor({ restart })`); either way it is reported.
   */
  onStart?(): void | Promise<void>;
  /**
   * Runs when the actor stops (the system closes, it is unregistered, or it restarts), once its calls
   * in progress have ended, or have run out of `closeTimeoutMs` and been aborted (their signal fires;
   * a handler that ignores it may still be running; on a restart they are aborted at once). Never
   * after a failed `onStart`. `close()` and `unregister()` wait for it. Errors are reported.
   */
  onStop?(): void | Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: actor classes take any constructor parameters
export type ActorClass<T = object> = new (...args: any[]) => T;

export type CellState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopping' | 'stopped';

/** Counters the cells of one system share (see SystemStats). */
export interface SupervisionStats {
  /** Restarts of any actor so far. */
  restarts: number;
}

export class ActorCell {
  readonly methods: Set<string>;
  /** The `@method` options of each callable method (looked up once: every call reads them). */
  private readonly perMethod = new Map<string, MethodOptions>();
  /** The checks of methods that declare schemas (none: undefined, and no lookup per call). */
  private readonly validators: Map<string, MethodValidator> | undefined;
  /**
   * Settles when the actor first runs: rejects with its failure when it failed for good before that
   * (the start's error), or UNAVAILABLE when it stopped first (already handled: awaiting is optional).
   */
  readonly ready: Promise<void>;
  private readyResolve!: () => void;
  private readyReject!: (err: unknown) => void;
  private instance: (object & ActorLifecycle) | undefined;
  /** The child container of {@link instance}; undefined between instances. */
  private container: DependencyContainer | undefined;
  private readonly mailbox: Mailbox;
  private status: CellState = 'starting';
  /** The current instance's `onStart` succeeded (and it was not stopped since). */
  private started = false;
  /** The calls whose handler is running (entered {@link run}, no outcome yet): what a stop aborts. */
  private readonly running = new Roster<CellJob>();
  /** Undefined: `restart: 'never'`. */
  private readonly budget: RestartBudget | undefined;
  /** A start in progress (the instance resolved and its `onStart` running). */
  private attempt: Promise<void> | undefined;
  /** Ends a backoff early (the actor is stopping). */
  private wake: (() => void) | undefined;
  private restartCount = 0;
  /** The instances being stopped (see {@link retire}). */
  private retiring: Promise<void> = Promise.resolve();
  private draining: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly cls: ActorClass,
    readonly options: ActorOptions,
    private readonly parent: DependencyContainer,
    config: ActorsConfig,
    private readonly report: (err: unknown) => void,
    private readonly stats: SupervisionStats = { restarts: 0 },
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
    const restart = options.restart ?? 'never';
    this.budget = restart === 'never' ? undefined : new RestartBudget(restart);
    this.mailbox = new Mailbox(name, options.concurrency ?? 1, config.maxMailbox);
    this.mailbox.hold();
    this.ready = new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.ready.catch(() => {});
    void this.live();
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

  /** A call that names a key (the CALL record's `k`): this actor is not keyed, so INVALID_ARGUMENT. */
  admitKeyed(_method: string, _caller: Caller): void {
    throw rpcError('INVALID_ARGUMENT', `actor ${this.name} is not keyed: the call must not carry a key`);
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

  /** Restarts of this actor so far. */
  get restarts(): number {
    return this.restartCount;
  }

  /**
   * The first step of a stop: refuse new calls (UNAVAILABLE), and answer the calls still queued
   * UNAVAILABLE at once, without running them; end a restart's backoff. Resolves when the handlers
   * running now have ended (a stream result counts as ended once returned: its items are the
   * connection's to finish), and a start in progress has ended. Never rejects. Idempotent.
   * `refusal`: the error of the refused calls instead (a keyed activation's fencing).
   */
  drain(refusal?: RpcError): Promise<void> {
    if (this.draining === undefined) {
      if (this.status !== 'failed' && this.status !== 'stopped') this.status = 'stopping';
      this.wake?.();
      const closed = this.mailbox.close('stopping', refusal);
      const attempt = this.attempt;
      this.draining = attempt === undefined ? closed : Promise.all([closed, attempt]).then(noop, noop);
    }
    return this.draining;
  }

  /**
   * Abort every handler still running with `reason`: its `callContext().signal` fires, a caller's
   * call fails with `reason` at once (UNAVAILABLE), and the handler is no longer waited for.
   */
  abortRunning(reason: RpcError): void {
    for (const job of this.running.takeAll()) job.abort(reason);
  }

  /**
   * The last step of a stop: {@link drain} (not waiting for the running handlers: wait for `drain()`
   * first, or abort them), then `onStop` if the instance's `onStart` had succeeded, then dispose its
   * child container. Resolves when that is done (a start still in progress stops its own instance
   * when it ends, unwaited); errors of `onStop` and of the disposal are reported, never thrown.
   * Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.finish();
    return this.stopping;
  }

  private async finish(): Promise<void> {
    void this.drain();
    if (this.attempt === undefined) await this.retire();
    else await this.retiring;
    this.readyReject(rpcError('UNAVAILABLE', `actor ${this.name} stopped before it started`));
    this.status = 'stopped';
  }

  /** A call's handler starts: it is running until its outcome. */
  enter(job: CellJob): void {
    this.running.add(job);
  }

  /** A call's handler has its outcome (or never ran); false when it was not running (or was aborted). */
  leave(job: CellJob): boolean {
    return this.running.delete(job);
  }

  /**
   * A call's handler failed with `err` (the call was answered): when the actor's `fatal` accepts it,
   * that is a failure of the actor (restart, or failed under 'never'). A `fatal` that throws is
   * reported, and the error is not fatal.
   */
  failedCall(err: unknown): void {
    const fatal = this.options.fatal;
    // Arguments the method's schemas refused are the caller's fault: a peer must not be able to
    // restart an actor by sending bad arguments, whatever `fatal` says.
    if (fatal === undefined || this.status !== 'running' || isRefusedArguments(err)) return;
    try {
      if (!fatal(err)) return;
    } catch (bug) {
      this.report(
        rpcError('INTERNAL', `actor ${this.name}: fatal() threw: ${describe(bug)}`, { cause: bug }),
      );
      return;
    }
    this.status = 'restarting';
    this.mailbox.hold();
    this.mailbox.forgetRunning();
    this.abortRunning(rpcError('UNAVAILABLE', `actor ${this.name} failed and is restarting`));
    void this.recover(err);
  }

  /** Start an instance, and again after each failure while the policy allows. */
  private async live(): Promise<void> {
    for (;;) {
      let failure: { err: unknown } | undefined;
      const attempt = this.startInstance();
      this.attempt = attempt;
      try {
        await attempt;
      } catch (err) {
        failure = { err };
      }
      this.attempt = undefined;
      if (this.status === 'stopping' || this.status === 'stopped') {
        // A stop came during the start: if it has passed already, it left this instance to us.
        if (this.stopping !== undefined) void this.retire();
        if (failure !== undefined) this.readyReject(failure.err);
        else this.readyResolve();
        return;
      }
      if (failure === undefined) {
        this.status = 'running';
        this.readyResolve();
        this.mailbox.release();
        return;
      }
      await this.retire();
      if (!(await this.mayRestart(failure.err, 'start'))) return;
    }
  }

  /** After a handler's fatal failure: stop the instance, then start again if the policy allows. */
  private async recover(err: unknown): Promise<void> {
    await this.retire();
    if (await this.mayRestart(err, 'handler')) await this.live();
  }

  /**
   * The instance failed (its start, or a handler fatally) with `err` and is stopped: report it; then,
   * when the policy has a restart left, wait its backoff and resolve true; else the actor is failed
   * (its queued calls are answered UNAVAILABLE) and this resolves false. False as well when the actor
   * began stopping meanwhile.
   */
  private async mayRestart(err: unknown, where: 'start' | 'handler'): Promise<boolean> {
    if (this.status === 'stopping' || this.status === 'stopped') return false;
    const what = where === 'start' ? 'onStart failed' : 'a handler failed fatally';
    const budget = this.budget;
    const backoff = budget?.take(Date.now());
    if (budget === undefined || backoff === undefined) {
      this.status = 'failed';
      void this.mailbox.close('failed');
      this.readyReject(err);
      const message =
        budget === undefined
          ? where === 'start'
            ? `actor ${this.name} failed to start: ${describe(err)}`
            : `actor ${this.name} failed: ${what}: ${describe(err)}`
          : `actor ${this.name} failed: ${what}: ${describe(err)}; ${budget.describe()} used up: it stays failed`;
      this.report(rpcError('UNAVAILABLE', message, { cause: err }));
      return false;
    }
    this.status = 'restarting';
    this.restartCount++;
    this.stats.restarts++;
    const message = `actor ${this.name} failed: ${what}: ${describe(err)}; restart ${budget.used} of ${budget.describe()}, in ${backoff} ms`;
    const details = { actor: this.name, restarts: this.restartCount, backoffMs: backoff };
    this.report(rpcError('UNAVAILABLE', message, { cause: err, details }));
    if (backoff > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.status === 'restarting';
  }

  /**
   * A fresh instance: a new child container, the instance resolved from it, its `onStart`. Rejects
   * with what the constructor (or a dependency) or `onStart` threw.
   */
  private async startInstance(): Promise<void> {
    const container = this.parent.createChildContainer();
    container.register(ACTOR_NAME, { useValue: this.name });
    this.container = container;
    const instance = container.resolve(this.cls as ActorClass<object & ActorLifecycle>);
    this.instance = instance;
    await instance.onStart?.();
    this.started = true;
  }

  /**
   * Stop the current instance: `onStop` if its start had succeeded, then dispose its container. Errors
   * are reported. Resolves when every instance retired so far is stopped. The instance is marked
   * stopped at once (so no call runs on it, and a second call does not stop it again); the next start
   * replaces it.
   */
  private retire(): Promise<void> {
    const { instance, container, started } = this;
    this.container = undefined;
    this.started = false;
    const done = this.stopInstance(started ? instance : undefined, container);
    this.retiring = Promise.all([this.retiring, done]).then(noop);
    return this.retiring;
  }

  private async stopInstance(
    started: ActorLifecycle | undefined,
    container: DependencyContainer | undefined,
  ): Promise<void> {
    try {
      await started?.onStop?.();
    } catch (err) {
      this.report(
        rpcError('INTERNAL', `actor ${this.name}: onStop failed: ${describe(err)}`, { cause: err }),
      );
    }
    try {
      await container?.dispose();
    } catch (err) {
      this.report(err);
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
    // A handler's own failure, not an abort (deadline, cancel, stop) nor a refusal by the mailbox.
    const handlerFailed = this.cell.leave(this) && !this.scope.aborted;
    this.outcome.reject(err);
    if (handlerFailed) this.cell.failedCall(err);
  }

  /** The system is closing and the handler ran out of time (see {@link ActorCell.abortRunning}). */
  abort(reason: RpcError): void {
    this.scope.abort(reason);
  }
}

function noop(): void {}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
