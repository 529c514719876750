/**
 * Calls to an actor by name over a cluster's members (docs/CLUSTER.md section 5): each call goes to a
 * live member that lists the actor, in turn (round robin over the members in key id order).
 *
 * A member is reached only through `clientFor`, which dials its TLS address (or, lacking one, its
 * WebSocket URL) pinned to the key its row names and requires that key's grant from the cluster admin,
 * in its certificate or its in-band proof (system.ts): a row is a hint, the
 * handshake is the proof. A member whose dial fails (refused, unreachable, no grant, another key) is
 * skipped and the next one tried, for the same call: nothing of the call was sent. Once the call is
 * on a connection it is never sent again elsewhere, whatever happens to it (no idempotent retry).
 */
import { forwardTarget, type Target } from '../callee/target.js';
import type { Counters } from '../counters.js';
import { type RpcError, rpcError, toRpcError } from '../errors.js';
import type { InterceptorChains, OutgoingCall } from '../interceptors.js';
import type { CallOptions } from '../types.js';
import type { Call } from './call.js';
import type { HostPeer, PeerClient, UrlPeer } from './client.js';
import { interceptCall } from './intercept.js';
import type { RefInvoker } from './ref.js';
import { type Route, remoteCall } from './remote-call.js';

/** How a member is reached: its TLS address, or its WebSocket URL; its row's key pinned either way. */
export type MemberPeer = HostPeer | UrlPeer;

/** The members that may host an actor, as the router sees them now. */
export interface ClusterRoutes {
  /** Peers (address and pinned key) of the live members that list `actor`, one each, in a stable order. */
  candidates(actor: string): readonly MemberPeer[];
  /** The client of one member (one connection per member, shared by every cluster ref). */
  clientFor(peer: MemberPeer): PeerClient;
}

export class ClusterInvoker implements RefInvoker {
  private next = 0;

  constructor(
    private readonly routes: ClusterRoutes,
    private readonly actor: string,
    private readonly interceptors: InterceptorChains,
    private readonly counters: Counters,
  ) {}

  /**
   * A connection to the next member that can be reached. Rejects UNAVAILABLE when no live member lists
   * the actor, or when every one failed to connect (the last failure as its cause).
   */
  private readonly route = async (): Promise<Route> => {
    const peers = this.routes.candidates(this.actor);
    if (peers.length === 0) {
      throw rpcError('UNAVAILABLE', `cluster: no live member hosts ${this.actor}`);
    }
    const start = this.next++ % peers.length;
    let last: RpcError | undefined;
    for (let i = 0; i < peers.length; i++) {
      const client = this.routes.clientFor(peers[(start + i) % peers.length]!);
      const up = client.current();
      if (up && !up.channels.mux.isClosing) return { link: up };
      if (up) client.retire(up);
      try {
        return { link: await client.connect() };
      } catch (err) {
        last = toRpcError(err, 'UNAVAILABLE');
      }
    }
    throw rpcError(
      'UNAVAILABLE',
      `cluster: none of the ${peers.length} members hosting ${this.actor} could be reached: ${last?.message}`,
      { cause: last },
    );
  };

  call(method: string, args: unknown[], options: CallOptions): Call<unknown> {
    const chain = this.interceptors.client;
    if (chain.length === 0) return this.send({ actor: this.actor, method, args, options, peer: undefined });
    const outgoing: OutgoingCall = { actor: this.actor, method, args, options, peer: undefined };
    return interceptCall(chain, this, outgoing, this.send);
  }

  private readonly send = (c: OutgoingCall): Call<unknown> =>
    remoteCall(this, this.route, this.actor, c.method, c.args as unknown[], c.options, this.counters);

  target(options: CallOptions): Target {
    return forwardTarget(this.actor, this, options);
  }
}
