/**
 * Where keyed (virtual) actors live, and their durable state: the two services a membership provider
 * may offer beyond membership (docs/CLUSTER.md, virtual actors). The actor runtime uses them; a
 * provider implements them against its store.
 *
 * The guarantee they carry: at most one activation of an (actor, key) across the cluster, as long as
 * every node honours its lease (fencing, below). A claim is bound to its owner's lease: it is valid
 * while the owner's lease is, and passes to another node only once that lease has expired by the
 * store's clock. A node that cannot renew its lease reports `fenced` on `lease$` BEFORE its lease can
 * expire (the store's clock may not be read: the node times it from when its last successful renewal
 * was sent, minus a margin), and stops serving its keyed actors at once.
 */
import type { Observable } from 'rxjs';

/** Who holds an (actor, key). */
export interface Claim {
  /** The owner's key id (base64url). This node's own key id when this node holds it. */
  readonly owner: string;
}

/**
 * This node's lease as its provider knows it. `valid`: renewed in time, keyed actors may be served.
 * `fenced`: not known valid (not joined yet, a renewal failed for too long, or left/closed): keyed
 * actors must not be served, and claims are refused.
 */
export type LeaseState = 'valid' | 'fenced';

export interface Placement {
  /**
   * Claims (actor, key) for this node, or learns who holds it. Resolves `{ owner: self }` when this node
   * holds it now (newly, or already), `{ owner: other }` when another node whose lease is live holds it.
   * Rejects RpcError UNAVAILABLE reason FENCED when this node's own lease is not known valid, and
   * UNAVAILABLE reason STORE_UNAVAILABLE (the store's error as `cause`) when the store cannot answer.
   */
  claim(actor: string, key: string): Promise<Claim>;
  /** Gives (actor, key) up if this node holds it (after passivation). Best effort: rejects as `claim`. */
  release(actor: string, key: string): Promise<void>;
  /** The current lease state at once, then each change. Completes when the provider is spent. */
  readonly lease$: Observable<LeaseState>;
  /**
   * Whether this node's lease is valid NOW by its own monotonic clock. `lease$` reports a fence when
   * its timer runs, which a busy or stalled event loop delays; this answers at the moment of use, so
   * the runtime checks it as each keyed call arrives. Optional: without it, `lease$` alone decides.
   */
  leaseValid?(): boolean;
}

/** An (actor, key)'s saved state. */
export interface StoredState {
  /** The saved value (undefined: never saved, or cleared). */
  readonly value: unknown;
  /** Its version: 0 when never saved; each save adds 1. */
  readonly version: number;
}

export interface StateStore {
  /** The saved state of (actor, key). Rejects UNAVAILABLE reason STORE_UNAVAILABLE when the store cannot answer. */
  load(actor: string, key: string): Promise<StoredState>;
  /**
   * Saves `value` (undefined: clears it) if the saved version is still `expected` AND this node holds the
   * (actor, key) claim under a live lease (judged by the store, in the same statement). Resolves the new
   * version (`expected + 1`). Rejects RpcError ABORTED reason STALE_STATE when either check fails: the
   * value is NOT written; RESOURCE_EXHAUSTED when the encoded value exceeds the store's limit; as `load`.
   */
  save(actor: string, key: string, value: unknown, expected: number): Promise<number>;
}

/** Reasons (RpcError.reason) of the cluster's own refusals. Stable: callers match on them. */
export const ClusterReason = {
  /** A keyed call reached a node that does not hold the key. `details.owner`: the holder's key id, if known. The call did not run. */
  NOT_OWNER: 'NOT_OWNER',
  /** The node's lease is not known valid: it serves no keyed actor now. The call did not run. */
  FENCED: 'FENCED',
  /** A save lost the optimistic-concurrency check (another version, or this node no longer holds the key). */
  STALE_STATE: 'STALE_STATE',
  /** The cluster's store (the database) could not answer. */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
} as const;
export type ClusterReason = (typeof ClusterReason)[keyof typeof ClusterReason];
