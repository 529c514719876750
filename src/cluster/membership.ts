/**
 * The membership provider interface: how a node announces itself to its cluster and learns who else is
 * in it. Two providers implement it: `staticMembership` (a fixed list, no store) and
 * `postgresMembership` (a table of leases in PostgreSQL).
 *
 * Lifecycle: `join` once, then `update` as often as wanted, then `leave` (the member is removed at
 * once) or `close` (this node stops renewing; with a leased provider, its peers drop it when its lease
 * expires, as after a crash). After either, the provider is spent. Or, for a process that only calls
 * the cluster: `watch` once (it follows the members without being one), then `close` or `leave` (alike
 * for a watcher). One role per provider: a provider that joined cannot watch, nor the reverse.
 *
 * Members are hints, not credentials: see member.ts.
 */
import type { Observable } from 'rxjs';
import type { Member, MemberInfo } from './member.js';
import type { Placement, StateStore } from './placement.js';

export interface Membership {
  /**
   * Registers this node and starts renewing its lease. Rejects with TransportError INVALID_CONFIG for
   * a bad `self` or a second join (or one after leave/close); with the store's own error when it cannot
   * be reached or migrated (then nothing keeps running and the provider is spent).
   */
  join(self: MemberInfo): Promise<void>;
  /**
   * Follows the live members without joining: no entry of this node, no lease (`placement.lease$`
   * stays 'fenced': a watcher holds no keys), and no duty of a member (a leased provider's cleanup).
   * Then `members$`/`members()` report the list and each change, as they do for a member. Rejects with
   * TransportError INVALID_CONFIG on a provider that joined, watches already, or was left/closed; with
   * the store's own error when it cannot be reached or migrated (then nothing keeps running and the
   * provider is spent).
   */
  watch(): Promise<void>;
  /** Changes what this node says about itself (actors, load, addresses); its key id stays. */
  update(change: Partial<Omit<MemberInfo, 'keyId'>>): Promise<void>;
  /**
   * The live members, this node included once joined, sorted by key id: the current list at once, then
   * each change. Completes after `leave` or `close`. Before `join` or `watch`, a leased provider's list
   * is empty.
   */
  readonly members$: Observable<readonly Member[]>;
  /** The current list (as `members$` last emitted). */
  members(): readonly Member[];
  /**
   * Removes this node at once, stops renewing, and releases the store (a watcher: stops watching and
   * releases the store). Idempotent.
   */
  leave(): Promise<void>;
  /**
   * Stops renewing and releases the store, leaving this node's entry to expire as after a crash (the
   * static provider has no leases: there it is `leave`); a watcher stops watching. Idempotent.
   */
  close(): Promise<void>;
  /**
   * Where keyed actors live (placement.ts), when the provider offers it. The actor system serves keyed
   * actors through it; without it, a keyed actor is served only by a system outside any cluster.
   */
  readonly placement?: Placement;
  /** Durable state of keyed actors (placement.ts), when the provider offers it. */
  readonly state?: StateStore;
}
