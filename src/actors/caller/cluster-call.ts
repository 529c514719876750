/**
 * One call through a cluster ref: a {@link Call} whose attempts are remote calls to members, one at a
 * time. The outer Call is settled by the first attempt whose outcome is final; an attempt that failed in
 * a way that allows another member to take the call is followed by one to the next member. What decides
 * is the attempt's FIRST reply record (a value, a stream's shape, or an error): a stream is handed on as
 * it is and never sent again, whatever happens to its items.
 *
 * Which failures move the call on (docs/CLUSTER.md, cluster refs):
 * - a failed dial (refused, unreachable, no grant, another key): nothing was sent. Unkeyed: every live
 *   member is tried once; keyed: within {@link MAX_KEYED_HOPS}.
 * - keyed only, UNAVAILABLE reason NOT_OWNER (to `details.owner` when it is a live member, else the
 *   next) or FENCED (the next): the member refused the call before running it. Within MAX_KEYED_HOPS.
 * - any other UNAVAILABLE, for a method the ref declares idempotent: the call may have run; it is sent
 *   to the next member, at most {@link MAX_IDEMPOTENT_ATTEMPTS} times in all (attempts that reached a
 *   member), within the call's deadline.
 * Anything else settles the call. Each attempt has what is left of the call's deadline and its signal.
 */

import { rendezvousOrder } from '../../cluster/rendezvous.js';
import { type CallScope, currentScope } from '../context.js';
import type { Counters } from '../counters.js';
import { type RpcError, rpcError } from '../errors.js';
import type { CallOptions } from '../types.js';
import { Call, type CallMaker } from './call.js';
import type { HostPeer, PeerClient, UrlPeer } from './client.js';
import type { OwnerCache } from './owner-cache.js';
import { type RouteSource, remoteCall } from './remote-call.js';

/** Most members one keyed call is sent to (refusals and failed dials included). */
export const MAX_KEYED_HOPS = 4;
/** Most members one call to an idempotent method reaches (sent, then lost), the first included. */
export const MAX_IDEMPOTENT_ATTEMPTS = 3;

/** How a member is reached: its TLS address, or its WebSocket URL; its row's key pinned either way. */
export type MemberPeer = HostPeer | UrlPeer;

/** The members that may host an actor, as the router sees them now. */
export interface ClusterRoutes {
  /** TLS peers (address and pinned key id) of the live members that list `actor`, in key id order. */
  candidates(actor: string): readonly MemberPeer[];
  /** The client of one member (one connection per member, shared by every cluster ref). */
  clientFor(peer: MemberPeer): PeerClient;
  /** The owners of keys last seen, shared by the system's cluster refs. */
  readonly owners: OwnerCache;
}

/** What a cluster call needs of its ref. */
export interface ClusterTarget {
  readonly routes: ClusterRoutes;
  readonly actor: string;
  /** The key of a keyed ref. */
  readonly key: string | undefined;
  readonly idempotent: ReadonlySet<string>;
  readonly counters: Counters;
  /** Unkeyed calls start at a member chosen in turn: the next start. */
  nextStart(): number;
}

export function clusterCall(
  target: ClusterTarget,
  maker: CallMaker,
  method: string,
  args: unknown[],
  options: CallOptions,
): Call<unknown> {
  const call = new Call<unknown>(maker, method, args, options);
  new ClusterCall(target, maker, call, method, args, options).next();
  return call;
}

class ClusterCall {
  /** The attempt in flight. */
  private attempt: Call<unknown> | undefined;
  private over = false;
  /** Members tried, by key id: each at most once per call. */
  private readonly tried = new Set<string>();
  private hops = 0;
  /** Attempts that reached a member (their dial succeeded). */
  private reached = 0;
  /** The owner a NOT_OWNER named: tried next. */
  private preferred: string | undefined;
  /** The last attempt's error, and the last of an attempt that reached its member. */
  private last: RpcError | undefined;
  private lastReached: RpcError | undefined;
  /** The call's own deadline (its timeoutMs from now); an inherited one stays with `bound`. */
  private readonly deadline: number | undefined;
  /** The handler scope the call was made in (each attempt belongs to it), undefined: none. */
  private readonly bound: CallScope | undefined;
  private readonly start: number;

  constructor(
    private readonly target: ClusterTarget,
    private readonly maker: CallMaker,
    private readonly call: Call<unknown>,
    private readonly method: string,
    private readonly args: unknown[],
    private readonly options: CallOptions,
  ) {
    this.deadline = options.timeoutMs ? Date.now() + options.timeoutMs : undefined;
    this.bound = options.detached ? undefined : currentScope();
    this.start = target.key === undefined ? target.nextStart() : 0;
    call.onCancel((reason) => {
      if (this.over) return;
      this.over = true;
      call.reject(reason);
      this.attempt?.cancelPending(reason.message);
    });
  }

  /** Send the call to the next member, or settle it when there is none. */
  next(): void {
    const peer = this.pick();
    if (peer === undefined) {
      this.settleFailed(this.exhausted());
      return;
    }
    let options = this.options;
    // The first attempt takes the options as they are (remoteCall checks them); a later one what is
    // left of the call's deadline.
    if (this.deadline !== undefined && this.hops > 0) {
      const left = this.deadline - Date.now();
      if (left <= 0) {
        this.settleFailed(rpcError('DEADLINE_EXCEEDED', `${this.method}: deadline exceeded`));
        return;
      }
      options = { ...options, timeoutMs: Math.max(1, Math.ceil(left)) };
    }
    // A later attempt starts outside the caller's async context: it must not adopt whatever handler
    // is running then, so without a scope of its own it is detached.
    if (this.bound === undefined && !options.detached) options = { ...options, detached: true };
    this.tried.add(peer.key as string);
    this.hops++;
    const dial = { failed: false };
    const source = routeTo(this.target.routes.clientFor(peer), dial);
    const { target } = this;
    const attempt = remoteCall(
      this.maker,
      source,
      target.actor,
      this.method,
      this.args,
      options,
      target.counters,
      this.bound,
    );
    this.attempt = attempt;
    attempt.waitOutcome(() => this.settled(attempt, peer.key as string, dial.failed));
  }

  /** The next member to try: a named owner, the cached owner, then the order; each member once. */
  private pick(): MemberPeer | undefined {
    const { target } = this;
    const peers = target.routes.candidates(target.actor);
    const byKey = (id: string | undefined) =>
      id === undefined || this.tried.has(id) ? undefined : peers.find((p) => p.key === id);
    if (target.key === undefined) {
      for (let i = 0; i < peers.length; i++) {
        const p = peers[(this.start + i) % peers.length]!;
        if (!this.tried.has(p.key as string)) return p;
      }
      return undefined;
    }
    if (this.hops >= MAX_KEYED_HOPS) return undefined;
    const named = byKey(this.preferred);
    if (named) return named;
    const cached = target.routes.owners.get(target.actor, target.key);
    if (cached !== undefined) {
      const p = byKey(cached);
      if (p) return p;
      if (!peers.some((x) => x.key === cached)) target.routes.owners.drop(target.actor, target.key, cached);
    }
    const order = rendezvousOrder(
      peers.map((p) => ({ keyId: p.key as string, p })),
      target.actor,
      target.key,
    );
    return order.find((e) => !this.tried.has(e.keyId))?.p;
  }

  private settled(attempt: Call<unknown>, member: string, dialFailed: boolean): void {
    if (this.over || attempt !== this.attempt) return;
    const outcome = attempt.outcome();
    const { target } = this;
    if (outcome.state !== 'failed') {
      this.over = true;
      if (target.key !== undefined) target.routes.owners.set(target.actor, target.key, member);
      if (outcome.state === 'value') this.call.resolveValue(outcome.value);
      else this.call.resolveStream(outcome.stream!);
      return;
    }
    const err = outcome.error;
    this.last = err;
    if (!dialFailed) {
      this.reached++;
      this.lastReached = err;
    }
    if (this.movesOn(err, member, dialFailed)) this.next();
    else this.settleFailed(err);
  }

  /** Whether `err` from `member` lets the call go to another member (see the file comment). */
  private movesOn(err: RpcError, member: string, dialFailed: boolean): boolean {
    const { target } = this;
    const keyed = target.key !== undefined;
    if (dialFailed) {
      if (keyed) target.routes.owners.drop(target.actor, target.key!, member);
      return true;
    }
    if (err.code !== 'UNAVAILABLE') return false;
    if (keyed && (err.reason === 'NOT_OWNER' || err.reason === 'FENCED')) {
      target.routes.owners.drop(target.actor, target.key!, member);
      const owner = (err.details as { owner?: unknown } | undefined)?.owner;
      if (err.reason === 'NOT_OWNER' && typeof owner === 'string' && owner !== member) {
        this.preferred = owner;
        target.routes.owners.set(target.actor, target.key!, owner);
      }
      return true;
    }
    return target.idempotent.has(this.method) && this.reached < MAX_IDEMPOTENT_ATTEMPTS;
  }

  /** The error of a call no member took. */
  private exhausted(): RpcError {
    const { actor, key } = this.target;
    const { last, lastReached } = this;
    if (this.hops === 0) return rpcError('UNAVAILABLE', `cluster: no live member hosts ${actor}`);
    if (lastReached === undefined) {
      return rpcError(
        'UNAVAILABLE',
        `cluster: none of the ${this.hops} members hosting ${actor} could be reached: ${last?.message}`,
        { cause: last },
      );
    }
    if (key === undefined) return lastReached;
    return rpcError(
      'UNAVAILABLE',
      `cluster: no member took ${actor} key ${key} in ${this.hops} hops: ${last?.message}`,
      {
        cause: last,
        ...(lastReached.reason !== undefined ? { reason: lastReached.reason } : {}),
        ...(lastReached.details !== undefined ? { details: lastReached.details } : {}),
      },
    );
  }

  private settleFailed(err: RpcError): void {
    this.over = true;
    this.call.reject(err);
  }
}

/** A route to `client`'s member: its connection, dialled if needed; a failed dial is marked in `dial`. */
function routeTo(client: PeerClient, dial: { failed: boolean }): RouteSource {
  return () => {
    const up = client.current();
    if (up && !up.channels.mux.isClosing) return { link: up };
    if (up) client.retire(up);
    return client.connect().then(
      (link) => ({ link }),
      (err: unknown) => {
        dial.failed = true;
        throw err;
      },
    );
  };
}
