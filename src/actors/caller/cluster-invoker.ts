/**
 * Calls to an actor by name over a cluster's members (docs/CLUSTER.md, cluster refs). Unkeyed: each
 * call starts at the next live member that lists the actor, in turn (round robin in key id order).
 * Keyed: at the member last seen holding the key, else in rendezvous order (rendezvous.ts), following
 * NOT_OWNER refusals to the owner they name. Which failures send a call on to another member, and how
 * often: cluster-call.ts.
 *
 * A member is reached only through its client (member-routes.ts), which dials its TLS address (or, lacking one, its
 * WebSocket URL) pinned to the key its row names and requires that key's grant from the cluster admin,
 * in its certificate or its in-band proof (system.ts): a row is a hint, the handshake is the proof.
 */
import { forwardTarget, type Target } from '../callee/target.js';
import type { Counters } from '../counters.js';
import type { InterceptorChains, OutgoingCall } from '../interceptors.js';
import type { CallOptions } from '../types.js';
import type { Call } from './call.js';
import { type ClusterTarget, clusterCall } from './cluster-call.js';
import { interceptCall } from './intercept.js';
import type { ClusterRoutes } from './member-routes.js';
import { ownerEntry } from './owner-cache.js';
import type { RefInvoker } from './ref.js';

export type { ClusterRoutes, MemberPeer } from './member-routes.js';

/** Options of `ActorSystem.clusterRef`: call options for every call, and how the ref routes. */
export type ClusterRefOptions = CallOptions & {
  /**
   * The key of a keyed (virtual) actor: every call carries it (the CALL record's `k`) and goes to the
   * member holding the key. Absent: the actor is unkeyed.
   */
  key?: string;
  /**
   * Methods that may run more than once with the same effect: a call to one of them that fails
   * UNAVAILABLE after it reached a member (the connection was lost, the member stopped) is sent to
   * another member, at most MAX_IDEMPOTENT_ATTEMPTS times in all, within its deadline, until the first
   * reply record arrives. Other methods are never sent again once they reached a member.
   */
  idempotent?: readonly string[];
};

export class ClusterInvoker implements RefInvoker, ClusterTarget {
  private turn = 0;
  readonly idempotent: ReadonlySet<string>;
  readonly ownerEntry: string | undefined;
  /**
   * The options of the last call, and the same with this ref's key: a ref passes the same options
   * object on every call (one per `withOptions`), so the keyed copy is made once per object.
   */
  private plainOptions: CallOptions | undefined = undefined;
  private keyedOptions: CallOptions | undefined = undefined;

  constructor(
    readonly routes: ClusterRoutes,
    readonly actor: string,
    private readonly interceptors: InterceptorChains,
    readonly counters: Counters,
    readonly key: string | undefined = undefined,
    idempotent: readonly string[] = [],
  ) {
    this.idempotent = new Set(idempotent);
    this.ownerEntry = key === undefined ? undefined : ownerEntry(actor, key);
  }

  nextStart(): number {
    return this.turn++;
  }

  call(method: string, args: unknown[], options: CallOptions): Call<unknown> {
    const o = this.key === undefined ? options : this.withKey(options, this.key);
    const chain = this.interceptors.client;
    if (chain.length === 0)
      return this.send({ actor: this.actor, method, args, options: o, peer: undefined });
    const outgoing: OutgoingCall = { actor: this.actor, method, args, options: o, peer: undefined };
    return interceptCall(chain, this, outgoing, this.send);
  }

  /** `options` with this ref's key (which no call option overrides). */
  private withKey(options: CallOptions, key: string): CallOptions {
    if (options !== this.plainOptions) {
      this.plainOptions = options;
      this.keyedOptions = { ...options, key };
    }
    return this.keyedOptions!;
  }

  private readonly send = (c: OutgoingCall): Call<unknown> =>
    clusterCall(this, this, c.method, c.args as unknown[], c.options);

  target(options: CallOptions): Target {
    return forwardTarget(this.actor, this, options);
  }
}
