/**
 * A keyed (virtual) actor (`@actor(name, { keyed: true })`): one activation per key, each an
 * {@link ActorCell} of its own (its instance from its own child container holding ACTOR_KEY and, with
 * `state`, ACTOR_STATE; its own mailbox, lifecycle and supervision), made on the key's first call and
 * passivated after `idleMs` with no call running or queued.
 *
 * A call for a key goes (in this order):
 * 1. the system's lease is `fenced` (placement.lease$, or already out by the clock: placement.leaseValid):
 *    UNAVAILABLE reason FENCED; it did not run (and, by the clock, every activation stops as at a fence);
 * 2. an activation of the key is active: its mailbox;
 * 3. the key is being claimed or passivated: the call waits for that (within `maxMailbox`), then goes on;
 * 4. else, within `maxActivations` (else RESOURCE_EXHAUSTED): claim the key through the placement (in a
 *    cluster; one claim in flight per key), load its state, make the activation. Another node holds it:
 *    UNAVAILABLE reason NOT_OWNER, `details.owner` its key id; a claim or load that fails: its error.
 *
 * Passivation: `onStop`, then the claim is released. An activation whose handler failed it for good
 * (`restart: 'never'`, or its restarts used up) and one whose state save was refused as stale are
 * passivated as soon as no call runs on them: the next call makes a fresh one. When the lease becomes
 * `fenced`, every activation stops at once: queued calls are answered UNAVAILABLE FENCED, running
 * handlers' signals abort with it, `onStop` runs; nothing is released (the store may be unreachable).
 */
import type { Subscription } from 'rxjs';
import type { DependencyContainer } from 'tsyringe';
import type { LeaseState, Placement, StateStore } from '../../cluster/placement.js';
import type { ActorsConfig } from '../config.js';
import type { Caller, CallScope } from '../context.js';
import {
  type ActorOptions,
  DEFAULT_IDLE_MS,
  DEFAULT_MAX_ACTIVATIONS,
  type MethodOptions,
  methodOptions,
} from '../decorators.js';
import { type RpcError, rpcError } from '../errors.js';
import { callableMethods } from '../invoke.js';
import { Activation, fenced, KeyedCall } from './activation.js';
import { authorize } from './authorize.js';
import type { ActorClass, CellState, SupervisionStats } from './cell.js';
import type { HostedActor } from './hosted.js';
import type { Outcome } from './target.js';

/** Activation counters of a system (see SystemStats). */
export interface KeyedStats {
  /** Activations now. */
  activations: number;
  /** Activations made so far. */
  activated: number;
  /** Activations passivated (or stopped) so far. */
  passivated: number;
}

/** What a system gives its keyed hosts. */
export interface KeyedServices {
  readonly container: DependencyContainer;
  readonly config: ActorsConfig;
  readonly report: (err: unknown) => void;
  readonly supervision: SupervisionStats;
  readonly stats: KeyedStats;
  /** This node's key id: a claim owned by it is ours. */
  readonly self: string | undefined;
  /** Where keys live (a cluster); undefined: this node holds every key. */
  readonly placement: Placement | undefined;
  /** True in a cluster whose membership offers no placement: keyed calls are refused FAILED_PRECONDITION. */
  readonly unplaced: boolean;
  readonly store: StateStore | undefined;
}

export class KeyedHost implements HostedActor {
  readonly methods: Set<string>;
  readonly ready: Promise<void> = Promise.resolve();
  readonly idleMs: number;
  private readonly perMethod = new Map<string, MethodOptions>();
  private readonly maxActivations: number;
  private status: CellState = 'running';
  /** Every key with an activation being claimed, active, or being passivated. */
  readonly keys = new Map<string, Activation>();
  lease: LeaseState;
  private readonly leaseWatch: Subscription | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly cls: ActorClass,
    readonly options: ActorOptions,
    readonly services: KeyedServices,
  ) {
    this.methods = callableMethods(cls);
    for (const m of this.methods) {
      const o = methodOptions(cls, m);
      if (o) this.perMethod.set(m, o);
    }
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.maxActivations = options.maxActivations ?? DEFAULT_MAX_ACTIVATIONS;
    const placement = services.placement;
    this.lease = placement === undefined ? 'valid' : 'fenced';
    this.leaseWatch = placement?.lease$.subscribe({
      next: (state) => this.leaseChanged(state),
      error: (err: unknown) => {
        services.report(err);
        this.leaseChanged('fenced');
      },
      complete: () => this.leaseChanged('fenced'),
    });
  }

  get state(): CellState {
    return this.status;
  }

  /** Activations of this actor now (being claimed and passivated included). */
  get activations(): number {
    return this.keys.size;
  }

  methodOptions(method: string): MethodOptions | undefined {
    return this.perMethod.get(method);
  }

  admit(_method: string, _caller: Caller): void {
    throw rpcError('INVALID_ARGUMENT', `actor ${this.name} is keyed: the call needs a key`);
  }

  admitKeyed(method: string, caller: Caller): void {
    if (this.status !== 'running') throw rpcError('UNAVAILABLE', `actor ${this.name} is ${this.status}`);
    if (!this.methods.has(method))
      throw rpcError('UNIMPLEMENTED', `actor ${this.name} has no method ${method}`);
    const methodAllow = this.perMethod.get(method)?.allow;
    if (this.options.allow !== undefined || methodAllow !== undefined) {
      authorize(`${this.name}.${method}`, this.options.allow, methodAllow, caller);
    }
  }

  defaultTimeout(method: string): { ms: number | undefined; unaryOnly: boolean } {
    const m = this.perMethod.get(method)?.timeoutMs;
    if (m !== undefined) return { ms: m || undefined, unaryOnly: false };
    return { ms: this.options.timeoutMs || undefined, unaryOnly: true };
  }

  enqueue(method: string, args: readonly unknown[], scope: CallScope, outcome: Outcome): void {
    if (scope.key === undefined) {
      outcome.reject(rpcError('INVALID_ARGUMENT', `actor ${this.name} is keyed: the call needs a key`));
      return;
    }
    this.route(new KeyedCall(method, args, scope, outcome));
  }

  /** Send `call` to its key's activation, making one if needed (see the file's comment). */
  route(call: KeyedCall): void {
    const key = call.scope.key!;
    if (this.status !== 'running') {
      call.reject(rpcError('UNAVAILABLE', `actor ${this.name} is ${this.status}`));
      return;
    }
    if (this.lease === 'fenced' || this.services.placement?.leaseValid?.() === false) {
      // The lease may have run out before its timer could say so (a busy event loop): stop serving
      // keys now. `this.lease` follows lease$ only, so a renewal that lands before the timer (and so
      // emits nothing) lets calls in again.
      if (this.lease !== 'fenced') this.retireAll();
      call.reject(fenced(this.name));
      return;
    }
    const found = this.keys.get(key);
    if (found !== undefined) {
      found.post(call);
      return;
    }
    if (this.services.unplaced) {
      call.reject(
        rpcError(
          'FAILED_PRECONDITION',
          `actor ${this.name} is keyed, and the cluster's membership offers no placement`,
        ),
      );
      return;
    }
    if (this.keys.size >= this.maxActivations) {
      call.reject(
        rpcError(
          'RESOURCE_EXHAUSTED',
          `actor ${this.name}: ${this.maxActivations} activations (maxActivations)`,
        ),
      );
      return;
    }
    const activation = new Activation(this, key);
    this.keys.set(key, activation);
    activation.post(call);
    void activation.activate();
  }

  private leaseChanged(state: LeaseState): void {
    if (state === this.lease) return;
    this.lease = state;
    if (state === 'fenced') this.retireAll();
  }

  /** Fencing: every activation stops at once (see the file's comment). */
  private retireAll(): void {
    for (const activation of [...this.keys.values()]) void activation.retire('fence');
  }

  /** Refuse new calls; answer those waiting for a claim and those queued; wait for the running ones. */
  drain(): Promise<void> {
    if (this.status === 'running') this.status = 'stopping';
    return Promise.all([...this.keys.values()].map((a) => a.drain())).then(noop);
  }

  abortRunning(reason: RpcError): void {
    for (const a of this.keys.values()) a.cell?.abortRunning(reason);
  }

  /** Passivate every activation (onStop, then release its claim). Idempotent; never rejects. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      void this.drain();
      await Promise.all([...this.keys.values()].map((a) => a.retire('stop')));
      this.leaseWatch?.unsubscribe();
      this.status = 'stopped';
    })();
    return this.stopping;
  }
}

function noop(): void {}
