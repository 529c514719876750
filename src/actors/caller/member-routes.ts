/**
 * The members a cluster ref may send a call to, as one actor system sees them: for each actor, the live
 * members that list it, each with the client of its connection (docs/CLUSTER.md, cluster refs).
 *
 * Built from `membership.members()` and kept until that changes: a provider replaces its list with a new
 * array on every change and never mutates one it gave out (membership.ts), so the array's identity says
 * whether the list changed. A provider that returns a new array on every read is still served correctly,
 * only without the cache. A call therefore reads a ready array of candidates, and finds a member's
 * connection without working out the key of its address.
 */
import type { Member } from '../../cluster/member.js';
import type { HostPeer, PeerClient, UrlPeer } from './client.js';
import type { OwnerCache } from './owner-cache.js';
import type { Route } from './remote-call.js';

/** How a member is reached: its TLS address, or its WebSocket URL; its row's key pinned either way. */
export type MemberPeer = HostPeer | UrlPeer;

/** One live member that lists an actor, and the client of its connection. */
export class Candidate {
  /** The route of the connection last seen up: reused while that connection takes new calls. */
  private last: Route | undefined = undefined;

  constructor(
    /** The member's key id (its row's, pinned on the connection). */
    readonly keyId: string,
    /** Its client: one connection per member, shared by every cluster ref of the system. */
    readonly client: PeerClient,
  ) {}

  /**
   * The route of the member's connection when it is up and takes new calls; undefined when the caller
   * must dial (`client.connect()`). A connection whose peer said GoAway is retired here, so that the
   * dial makes a new one.
   */
  ready(): Route | undefined {
    const link = this.client.current();
    if (link === undefined) return undefined;
    if (link.channels.mux.isClosing) {
      this.client.retire(link);
      return undefined;
    }
    if (this.last?.link !== link) this.last = { link };
    return this.last;
  }
}

/** The members that may host an actor, as the router sees them now. */
export interface ClusterRoutes {
  /**
   * The live members that list `actor`, in key id order (the provider's order). The same array until
   * the membership changes; never mutated.
   */
  candidates(actor: string): readonly Candidate[];
  /** The owners of keys last seen, shared by the system's cluster refs. */
  readonly owners: OwnerCache;
}

/** The {@link ClusterRoutes} of one actor system, over its membership. */
export class MemberRoutes implements ClusterRoutes {
  /** The `members()` array the cache was built from. */
  private seen: readonly Member[] | undefined = undefined;
  /** Candidates by actor name, for `seen`; cleared when the membership changes. */
  private readonly byActor = new Map<string, readonly Candidate[]>();

  /**
   * `members` reads the membership's current list; `clientFor` gives the client of a member (made on
   * first use and kept by the system).
   */
  constructor(
    private readonly members: () => readonly Member[],
    private readonly clientFor: (peer: MemberPeer) => PeerClient,
    readonly owners: OwnerCache,
  ) {}

  candidates(actor: string): readonly Candidate[] {
    const members = this.members();
    if (members !== this.seen) {
      this.seen = members;
      this.byActor.clear();
    }
    let out = this.byActor.get(actor);
    if (out === undefined) {
      out = this.build(members, actor);
      this.byActor.set(actor, out);
    }
    return out;
  }

  private build(members: readonly Member[], actor: string): readonly Candidate[] {
    const out: Candidate[] = [];
    for (const m of members) {
      if (!m.actors.includes(actor)) continue;
      // TLS when the member serves it (its keys are the TLS keys), else its WebSocket.
      const { tls, ws } = m.addresses;
      let peer: MemberPeer | undefined;
      if (tls) peer = { host: tls.host, port: tls.port, key: m.keyId };
      else if (ws) peer = { url: ws, key: m.keyId };
      if (peer !== undefined) out.push(new Candidate(m.keyId, this.clientFor(peer)));
    }
    return Object.freeze(out);
  }
}
