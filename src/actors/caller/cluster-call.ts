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
 *
 * The attempts report to the {@link ClusterCall} itself (it is their CallSink), so that interceptors,
 * telemetry and the caller see one Call however many members were tried; cancelling that Call cancels
 * the attempt in flight.
 */

import { rendezvousOrder } from '../../cluster/rendezvous.js';
import { type CallScope, currentScope } from '../context.js';
import type { Counters } from '../counters.js';
import { type RpcError, rpcError } from '../errors.js';
import type { CallOptions } from '../types.js';
import { Call, type CallMaker, type StreamResult } from './call.js';
import type { Candidate, ClusterRoutes } from './member-routes.js';
import { type CallSink, type Route, type RouteSource, sendCall } from './remote-call.js';

/** Most members one keyed call is sent to (refusals and failed dials included). */
export const MAX_KEYED_HOPS = 4;
/** Most members one call to an idempotent method reaches (sent, then lost), the first included. */
export const MAX_IDEMPOTENT_ATTEMPTS = 3;

/** What a cluster call needs of its ref. */
export interface ClusterTarget {
  readonly routes: ClusterRoutes;
  readonly actor: string;
  /** The key of a keyed ref. */
  readonly key: string | undefined;
  /** The key's entry in `routes.owners` (`ownerEntry(actor, key)`, owner-cache.ts); undefined when unkeyed. */
  readonly ownerEntry: string | undefined;
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
  new ClusterCall(target, call, method, args, options).next();
  return call;
}

/** What a cluster call is doing. */
enum Phase {
  /** An attempt is in flight: dialling its member, sent, or waiting for its first reply record. */
  Attempting,
  /** The call has its outcome (or was cancelled); a late report from an attempt is ignored. */
  Over,
}

class ClusterCall implements CallSink, RouteSource {
  private phase = Phase.Attempting;
  /** The member of the attempt in flight. */
  private member: Candidate | undefined = undefined;
  /** The attempt in flight could not dial its member: nothing of the call was sent. */
  private dialFailed = false;
  /** Cancels the attempt in flight while it has no outcome (given by the attempt). */
  private cancelAttempt: ((reason: RpcError) => void) | undefined = undefined;
  /**
   * Members tried, by key id, each at most once per call: the first, then the others in a set made
   * only when a second member is tried.
   */
  private firstTried: string | undefined = undefined;
  private moreTried: Set<string> | undefined = undefined;
  private hops = 0;
  /** Attempts that reached a member (their dial succeeded). */
  private reached = 0;
  /** The owner a NOT_OWNER named: tried next. */
  private preferred: string | undefined = undefined;
  /** The owner the cache named for the last pick (keyed): a success there leaves the cache as it is. */
  private cachedOwner: string | undefined = undefined;
  /** The last attempt's error, and the last of an attempt that reached its member. */
  private last: RpcError | undefined = undefined;
  private lastReached: RpcError | undefined = undefined;
  /** The call's own deadline (its timeoutMs from now); an inherited one stays with `bound`. */
  private readonly deadline: number | undefined;
  /** The handler scope the call was made in (each attempt belongs to it), undefined: none. */
  private readonly bound: CallScope | undefined;
  private readonly start: number;

  constructor(
    private readonly target: ClusterTarget,
    private readonly call: Call<unknown>,
    private readonly method: string,
    private readonly args: unknown[],
    private readonly options: CallOptions,
  ) {
    this.deadline = options.timeoutMs ? Date.now() + options.timeoutMs : undefined;
    this.bound = options.detached ? undefined : currentScope();
    this.start = target.key === undefined ? target.nextStart() : 0;
    call.onCancel((reason) => this.cancel(reason));
  }

  /** Send the call to the next member, or settle it when there is none. */
  next(): void {
    const member = this.pick();
    if (member === undefined) {
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
    // is running then, so without a scope of its own it is detached. (The first starts in the
    // caller's context, where it finds the same scope as `bound`.)
    if (this.hops > 0 && this.bound === undefined && !options.detached) {
      options = { ...options, detached: true };
    }
    this.markTried(member.keyId);
    this.hops++;
    this.member = member;
    this.dialFailed = false;
    const { target } = this;
    sendCall(this, this, target.actor, this.method, this.args, options, target.counters, this.bound);
  }

  // ------------------------------------------------------------------ the attempt's route (RouteSource)

  /** The attempt's member's connection, dialled if needed; a failed dial is remembered for `reject`. */
  route(): Route | Promise<Route> {
    const member = this.member!;
    const up = member.ready();
    if (up !== undefined) return up;
    const hop = this.hops;
    return member.client.connect().then(
      (link) => ({ link }),
      (err: unknown) => {
        if (hop === this.hops) this.dialFailed = true; // still this attempt's (no later one started)
        throw err;
      },
    );
  }

  // ------------------------------------------------------------------ the attempt's outcome (CallSink)

  onCancel(cancel: (reason: RpcError) => void): void {
    this.cancelAttempt = cancel;
  }

  resolveValue(value: unknown): void {
    if (this.phase === Phase.Over) return;
    this.succeeded();
    this.call.resolveValue(value);
  }

  resolveStream(stream: StreamResult): void {
    if (this.phase === Phase.Over) {
      stream.cancel(rpcError('CANCELLED', 'the call already ended'));
      return;
    }
    this.succeeded();
    this.call.resolveStream(stream);
  }

  /** The attempt failed: move the call on to another member, or settle it with `err`. */
  reject(err: RpcError): void {
    if (this.phase === Phase.Over) return;
    this.cancelAttempt = undefined;
    this.last = err;
    if (!this.dialFailed) {
      this.reached++;
      this.lastReached = err;
    }
    if (this.movesOn(err, this.member!.keyId)) this.next();
    else this.settleFailed(err);
  }

  /** The caller cancelled the call: it ends now, and so does the attempt in flight. */
  private cancel(reason: RpcError): void {
    if (this.phase === Phase.Over) return;
    this.phase = Phase.Over;
    this.call.reject(reason);
    const cancelAttempt = this.cancelAttempt;
    this.cancelAttempt = undefined;
    cancelAttempt?.(reason);
  }

  /** The attempt's first reply record was a value or a stream: its member holds the key (keyed). */
  private succeeded(): void {
    this.phase = Phase.Over;
    this.cancelAttempt = undefined;
    const { target } = this;
    const member = this.member!.keyId;
    if (target.ownerEntry !== undefined && member !== this.cachedOwner) {
      target.routes.owners.set(target.ownerEntry, member);
    }
  }

  // ------------------------------------------------------------------ routing

  private tried(id: string): boolean {
    return id === this.firstTried || (this.moreTried?.has(id) ?? false);
  }

  private markTried(id: string): void {
    if (this.firstTried === undefined) this.firstTried = id;
    else {
      this.moreTried ??= new Set();
      this.moreTried.add(id);
    }
  }

  /** The member `id` among `peers` when it was not tried yet. */
  private untried(peers: readonly Candidate[], id: string | undefined): Candidate | undefined {
    if (id === undefined || this.tried(id)) return undefined;
    return memberOf(peers, id);
  }

  /** The next member to try: a named owner, the cached owner, then the order; each member once. */
  private pick(): Candidate | undefined {
    const { target } = this;
    const peers = target.routes.candidates(target.actor);
    if (target.key === undefined) {
      for (let i = 0; i < peers.length; i++) {
        const p = peers[(this.start + i) % peers.length]!;
        if (!this.tried(p.keyId)) return p;
      }
      return undefined;
    }
    if (this.hops >= MAX_KEYED_HOPS) return undefined;
    const named = this.untried(peers, this.preferred);
    if (named) return named;
    const { owners } = target.routes;
    const cached = owners.get(target.ownerEntry!);
    this.cachedOwner = cached;
    if (cached !== undefined) {
      const p = this.untried(peers, cached);
      if (p) return p;
      if (memberOf(peers, cached) === undefined) owners.drop(target.ownerEntry!, cached);
    }
    for (const p of rendezvousOrder(peers, target.actor, target.key)) {
      if (!this.tried(p.keyId)) return p;
    }
    return undefined;
  }

  /** Whether `err` from `member` lets the call go to another member (see the file comment). */
  private movesOn(err: RpcError, member: string): boolean {
    const { target } = this;
    const entry = target.ownerEntry;
    if (this.dialFailed) {
      if (entry !== undefined) target.routes.owners.drop(entry, member);
      return true;
    }
    if (err.code !== 'UNAVAILABLE') return false;
    if (entry !== undefined && (err.reason === 'NOT_OWNER' || err.reason === 'FENCED')) {
      target.routes.owners.drop(entry, member);
      const owner = (err.details as { owner?: unknown } | undefined)?.owner;
      if (err.reason === 'NOT_OWNER' && typeof owner === 'string' && owner !== member) {
        this.preferred = owner;
        target.routes.owners.set(entry, owner);
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
    this.phase = Phase.Over;
    this.call.reject(err);
  }
}

/** The member whose key id is `id`, if `peers` holds it. */
function memberOf(peers: readonly Candidate[], id: string): Candidate | undefined {
  for (const p of peers) if (p.keyId === id) return p;
  return undefined;
}
