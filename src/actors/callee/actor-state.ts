/**
 * The durable state of a keyed actor's activation (`@actor(name, { keyed: true, state: true })`): loaded
 * from the system's StateStore before the instance is made, injected as {@link ACTOR_STATE}, saved with
 * optimistic concurrency (a version per key).
 */
import type { InjectionToken } from 'tsyringe';
import type { StateStore, StoredState } from '../../cluster/placement.js';
import { isRpcError } from '../errors.js';

/** Token under which a keyed actor's activation container holds its key. */
export const ACTOR_KEY: InjectionToken<string> = 'rxchan.actorKey';
/** Token under which a keyed actor's activation container holds its {@link ActorState} (with `state: true`). */
export const ACTOR_STATE: InjectionToken<ActorState<unknown>> = 'rxchan.actorState';

/** A keyed activation's state. */
export interface ActorState<T> {
  /** The value: as loaded on activation (undefined: never saved, or cleared), then as the actor sets it. */
  value: T | undefined;
  /** The version loaded or last saved: 0 when never saved; each save adds 1. */
  readonly version: number;
  /**
   * Saves `value` if the stored version is still {@link version} and this node still holds the key.
   * Rejects RpcError ABORTED reason STALE_STATE when not (nothing is written; the activation is
   * passivated after the current call, so the next call reloads the state), RESOURCE_EXHAUSTED for a
   * value over the store's limit, UNAVAILABLE reason STORE_UNAVAILABLE when the store cannot answer.
   */
  save(): Promise<void>;
  /** Sets `value` to undefined and saves (as {@link save}). */
  clear(): Promise<void>;
}

export class StoredActorState<T> implements ActorState<T> {
  value: T | undefined;
  private saved: number;

  constructor(
    private readonly store: StateStore,
    private readonly actor: string,
    private readonly key: string,
    loaded: StoredState,
    /** The store refused a save as stale. */
    private readonly onStale: () => void,
  ) {
    this.value = loaded.value as T | undefined;
    this.saved = loaded.version;
  }

  get version(): number {
    return this.saved;
  }

  async save(): Promise<void> {
    try {
      this.saved = await this.store.save(this.actor, this.key, this.value, this.saved);
    } catch (err) {
      if (isRpcError(err) && err.reason === 'STALE_STATE') this.onStale();
      throw err;
    }
  }

  clear(): Promise<void> {
    this.value = undefined;
    return this.save();
  }
}
