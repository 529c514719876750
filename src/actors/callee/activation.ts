/**
 * One key's activation of a keyed actor (keyed.ts): its claim, its ActorCell, the calls waiting for
 * either, its idle timer, and how it ends (passivated when idle, stale or failed; stopped with the
 * system; or fenced).
 */

import type { CallScope } from '../context.js';
import { type RpcError, rpcError, toRpcError } from '../errors.js';
import { ACTOR_KEY, ACTOR_STATE, StoredActorState } from './actor-state.js';
import { ActorCell } from './cell.js';
import type { KeyedHost } from './keyed.js';
import type { Outcome } from './target.js';

type Phase = 'claiming' | 'active' | 'retiring';

/** One key's activation: its claim, its cell, the calls waiting for either, and its idle timer. */
export class Activation {
  private phase: Phase = 'claiming';
  cell: ActorCell | undefined;
  /** Calls waiting for the claim, or for the passivation to end. */
  private waiting: KeyedCall[] = [];
  /** Calls posted to the cell that have no outcome yet. */
  private inflight = 0;
  /** A save was refused as stale: passivate once no call runs. */
  private stale = false;
  private idle: NodeJS.Timeout | undefined;
  private claim: Promise<void> | undefined;
  private retiring: Promise<void> | undefined;

  constructor(
    private readonly host: KeyedHost,
    private readonly key: string,
  ) {}

  post(call: KeyedCall): void {
    const cell = this.cell;
    if (this.phase === 'active' && !this.stale && cell!.state !== 'failed') {
      if (this.idle !== undefined) clearTimeout(this.idle);
      this.idle = undefined;
      this.inflight++;
      call.activation = this;
      cell!.enqueue(call.method, call.args, call.scope, call);
      return;
    }
    const max = this.host.services.config.maxMailbox;
    if (max > 0 && this.waiting.length >= max) {
      call.reject(rpcError('RESOURCE_EXHAUSTED', `actor ${this.host.name}: mailbox full (${max})`));
      return;
    }
    this.waiting.push(call);
    if (this.phase === 'active' && this.inflight === 0) void this.retire('idle');
  }

  /** A call posted to the cell has its outcome. */
  settled(): void {
    if (--this.inflight > 0 || this.phase !== 'active') return;
    if (this.stale || this.cell!.state === 'failed' || this.waiting.length > 0) {
      void this.retire('idle');
      return;
    }
    this.idle = setTimeout(() => void this.retire('idle'), this.host.idleMs);
    this.idle.unref?.();
  }

  /** Claim the key, load its state, make the cell, post the waiting calls. */
  activate(): Promise<void> {
    this.claim ??= this.make();
    return this.claim;
  }

  private async make(): Promise<void> {
    const { name, services } = this.host;
    let claimed = false;
    try {
      const placement = services.placement;
      if (placement !== undefined) {
        const claim = await placement.claim(name, this.key);
        if (claim.owner !== services.self) {
          throw rpcError('UNAVAILABLE', `actor ${name}: key ${this.key} is held by another node`, {
            reason: 'NOT_OWNER',
            details: { owner: claim.owner },
          });
        }
        claimed = true;
      }
      this.check();
      const parent = services.container.createChildContainer();
      parent.register(ACTOR_KEY, { useValue: this.key });
      if (this.host.options.state) {
        const loaded = await services.store!.load(name, this.key);
        this.check();
        const state = new StoredActorState(services.store!, name, this.key, loaded, () => {
          this.stale = true;
        });
        parent.register(ACTOR_STATE, { useValue: state });
      }
      const { cls, options } = this.host;
      this.cell = new ActorCell(
        name,
        cls,
        options,
        parent,
        services.config,
        services.report,
        services.supervision,
      );
      this.phase = 'active';
      services.stats.activations++;
      services.stats.activated++;
    } catch (err) {
      // Claimed, but stopping: give the key back (not when fenced: the store may be unreachable).
      if (claimed && this.host.lease === 'valid') void this.release();
      this.forget();
      const reason = toRpcError(err, 'UNAVAILABLE');
      for (const call of this.takeWaiting()) call.reject(reason);
      return;
    }
    for (const call of this.takeWaiting()) this.post(call);
    if (this.inflight === 0 && this.waiting.length === 0) this.settledIdle();
  }

  /** Throws why an activation must not be made now: the lease is fenced, or the actor is stopping. */
  private check(): void {
    if (this.host.lease === 'fenced') throw fenced(this.host.name);
    if (this.host.state !== 'running' || this.phase !== 'claiming') {
      throw rpcError('UNAVAILABLE', `actor ${this.host.name} is ${this.host.state}`);
    }
  }

  private settledIdle(): void {
    this.inflight++;
    this.settled();
  }

  /** The host is stopping: answer the waiting calls; resolve when the cell's running calls have ended. */
  drain(): Promise<void> {
    const refusal = rpcError('UNAVAILABLE', `actor ${this.host.name} is stopping`);
    for (const call of this.takeWaiting()) call.reject(refusal);
    return this.cell?.drain() ?? Promise.resolve();
  }

  /**
   * Stop the activation: `idle` (no call runs: passivate, release, then route the calls that waited),
   * `stop` (the system closes or unregisters the actor: the host drained it already), or `fence`
   * (at once: queued and running calls fail FENCED, nothing released). Idempotent; never rejects.
   */
  retire(why: 'idle' | 'stop' | 'fence'): Promise<void> {
    if (why === 'fence' && this.phase === 'claiming') {
      // The claim's answer is ignored (check() throws): the waiting calls are answered now.
      const reason = fenced(this.host.name);
      for (const call of this.takeWaiting()) call.reject(reason);
      this.phase = 'retiring';
      this.forget();
      return Promise.resolve();
    }
    this.retiring ??= this.end(why);
    return this.retiring;
  }

  private async end(why: 'idle' | 'stop' | 'fence'): Promise<void> {
    if (this.phase === 'claiming') await this.claim;
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.idle = undefined;
    const cell = this.cell;
    if (this.phase !== 'active' || cell === undefined) return;
    this.phase = 'retiring';
    const { services } = this.host;
    if (why === 'fence') {
      const reason = fenced(this.host.name);
      void cell.drain(reason);
      cell.abortRunning(reason);
    } else await cell.drain();
    await cell.stop();
    services.stats.activations--;
    services.stats.passivated++;
    if (why !== 'fence' && this.host.lease === 'valid') await this.release();
    this.forget();
    for (const call of this.takeWaiting()) this.host.route(call);
  }

  private async release(): Promise<void> {
    try {
      await this.host.services.placement?.release(this.host.name, this.key);
    } catch (err) {
      this.host.services.report(err);
    }
  }

  /** The key has no activation any more (a later call makes a new one). */
  private forget(): void {
    if (this.host.keys.get(this.key) === this) this.host.keys.delete(this.key);
  }

  private takeWaiting(): KeyedCall[] {
    const waiting = this.waiting;
    this.waiting = [];
    return waiting;
  }
}

/** A call to a keyed actor: its outcome passes through, and its activation counts it. */
export class KeyedCall implements Outcome {
  activation: Activation | undefined = undefined;

  constructor(
    readonly method: string,
    readonly args: readonly unknown[],
    readonly scope: CallScope,
    private readonly outcome: Outcome,
  ) {}

  resolve(value: unknown): void {
    this.done();
    this.outcome.resolve(value);
  }

  reject(err: unknown): void {
    this.done();
    this.outcome.reject(err);
  }

  private done(): void {
    const a = this.activation;
    this.activation = undefined;
    a?.settled();
  }
}

export function fenced(actor: string): RpcError {
  return rpcError('UNAVAILABLE', `actor ${actor}: this node's lease is not known valid (fenced)`, {
    reason: 'FENCED',
  });
}
