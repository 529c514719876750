/**
 * The caller's side of a peer: one connection per peer, dialled on first use and again on the first
 * use after it was lost. A failed dial fails the calls waiting for it with UNAVAILABLE (or
 * UNAUTHENTICATED) and starts a backoff: calls made before it expires fail at once, the first one after
 * it dials again; the wait doubles per failure from `reconnectBaseMs` up to `reconnectMaxMs`, and
 * resets once a dial succeeds.
 */

import type { PortLike } from '../../transport/connection/index.js';
import { forwardTarget, type Target } from '../callee/target.js';
import type { ActorsConfig } from '../config.js';
import type { Counters } from '../counters.js';
import { type RpcError, rpcError, toRpcError } from '../errors.js';
import type { InterceptorChains, OutgoingCall } from '../interceptors.js';
import type { Link } from '../link.js';
import type { CallOptions } from '../types.js';
import type { Call } from './call.js';
import { interceptCall } from './intercept.js';
import type { RefInvoker } from './ref.js';
import { type Route, type RouteSource, remoteCall } from './remote-call.js';

/** Where a remote actor lives: a TLS address, a WebSocket URL, or a MessagePort to another thread. */
export type Peer = HostPeer | UrlPeer | PortPeer;

/** A peer reached over mutual TLS 1.3. */
export interface HostPeer {
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
  /**
   * The peer's ed25519 public key (its id text, base64url, or the 32 bytes). The connection is
   * refused (UNAUTHENTICATED) unless the peer proves this key.
   */
  key?: string | Uint8Array;
  /**
   * Our grant (signGrant: base64url text or the bytes), carried in our TLS certificate, for a peer whose
   * authorized keys lack our key but trust the grant's admin (`@admin`). Default: the system's
   * `cluster.grant`, if any. Refs to the same host, port and key share one connection, made with the
   * grant of the first.
   */
  grant?: string | Uint8Array;
  url?: undefined;
  messagePort?: undefined;
}

/** A peer reached over WebSocket (`ws://` or `wss://`), authenticated by the in-band key handshake. */
export interface UrlPeer {
  /** `ws://host:port/path` or `wss://host/path`: what the peer's `listen({ websocket })` answers to. */
  url: string;
  /** The peer's ed25519 public key, as for {@link HostPeer.key}. */
  key?: string | Uint8Array;
  /**
   * Our grant (signGrant: base64url text or the bytes), shown in the in-band handshake, for a peer
   * whose authorized keys lack our key but trust the grant's admin (`@admin`). Default: the system's
   * `cluster.grant`, if any. Refs to the same `url` and `key` share one connection, made with the grant
   * of the first.
   */
  grant?: string | Uint8Array;
  host?: undefined;
  port?: undefined;
  messagePort?: undefined;
}

/**
 * A peer at the other end of a MessagePort (a `worker_threads` MessageChannel port, a worker's
 * `parentPort`, a browser Worker or MessagePort), whose side serves it with `system.servePort(port)`.
 * A port carries one connection: once it is lost (the other thread ended or closed the port), calls
 * fail UNAVAILABLE and the ref does not redial; make a new ref on a new port. Never passed to the
 * system's `dial` option.
 */
export interface PortPeer {
  messagePort: PortLike;
  /**
   * The peer's ed25519 public key, as for {@link HostPeer.key}: the connection is refused
   * (UNAUTHENTICATED) unless the peer proves it in the in-band handshake; this system needs an
   * identity. Omit it only with `insecure`.
   */
  key?: string | Uint8Array;
  /**
   * No handshake of keys: neither side proves who it is, and calls served on it have no caller
   * identity (the serving side must say `insecure` too). Only between threads of one application.
   */
  insecure?: boolean;
  /**
   * Our grant (signGrant: base64url text or the bytes), shown in the in-band handshake, for a peer
   * whose authorized keys lack our key but trust the grant's admin (`@admin`). Ignored with `insecure`.
   */
  grant?: string | Uint8Array;
  host?: undefined;
  port?: undefined;
  url?: undefined;
}

/** True for a peer given by URL. */
export function isUrlPeer(peer: Peer): peer is UrlPeer {
  return typeof peer.url === 'string';
}

/** True for a peer at the other end of a MessagePort. */
export function isPortPeer(peer: Peer): peer is PortPeer {
  return peer.messagePort !== undefined;
}

/** Ids of the ports peers were made with: a port has no address to name it by. */
const portIds = new WeakMap<PortLike, number>();
let nextPortId = 1;

function portId(port: PortLike): number {
  let id = portIds.get(port);
  if (id === undefined) {
    id = nextPortId++;
    portIds.set(port, id);
  }
  return id;
}

/** A stable text key for a peer (address and key). */
export function peerKey(peer: Peer): string {
  const key =
    peer.key === undefined
      ? ''
      : typeof peer.key === 'string'
        ? peer.key
        : Buffer.from(peer.key).toString('base64url');
  if (isPortPeer(peer)) return `${describe(peer)}/${key}`;
  return isUrlPeer(peer) ? `${peer.url}#${key}` : `${peer.host}:${peer.port}/${key}`;
}

export class PeerClient {
  private link: Link | undefined;
  private connecting: Promise<Link> | undefined;
  private failures = 0;
  private retryAt = 0;
  private lastError: RpcError | undefined;
  private closed = false;

  constructor(
    readonly peer: Peer,
    private readonly dial: () => Promise<Link>,
    private readonly config: ActorsConfig,
    /** Where the calls made to this peer are counted. */
    readonly counters: Counters,
  ) {}

  /** The connection, when it is up and not closing (a link closing for being idle takes no new calls). */
  current(): Link | undefined {
    return this.link && !this.link.isClosing ? this.link : undefined;
  }

  /** The connection, dialling if there is none. Rejects UNAVAILABLE / UNAUTHENTICATED. */
  connect(): Promise<Link> {
    const up = this.current();
    if (up) return Promise.resolve(up);
    if (this.closed) return Promise.reject(rpcError('UNAVAILABLE', 'the actor system is closed'));
    if (this.connecting) return this.connecting;
    const wait = this.retryAt - Date.now();
    if (wait > 0) {
      const why = this.lastError?.message ?? 'dial failed';
      return Promise.reject(
        rpcError(
          this.lastError?.code ?? 'UNAVAILABLE',
          `${describe(this.peer)}: ${why}; next dial in ${wait} ms`,
          {
            cause: this.lastError,
          },
        ),
      );
    }
    this.connecting = this.dial().then(
      (link) => {
        this.connecting = undefined;
        if (this.closed) {
          link.destroy();
          throw rpcError('UNAVAILABLE', 'the actor system is closed');
        }
        this.link = link;
        this.failures = 0;
        this.retryAt = 0;
        return link;
      },
      (err: unknown) => {
        this.connecting = undefined;
        this.failures++;
        const { reconnectBaseMs: base, reconnectMaxMs: max } = this.config;
        this.retryAt = Date.now() + Math.min(max, base * 2 ** Math.min(this.failures - 1, 30));
        const e = toRpcError(err, 'UNAVAILABLE');
        // A transport code that means "cannot reach" stays UNAVAILABLE; a refused identity stays UNAUTHENTICATED.
        this.lastError = rpcError(e.code, `${describe(this.peer)}: ${e.message}`, { cause: err });
        throw this.lastError;
      },
    );
    return this.connecting;
  }

  /**
   * Stop using `link` for new calls: the next call dials. Calls already on it go on until it ends (the
   * system closes it with the others).
   */
  retire(link: Link): void {
    if (this.link === link) this.link = undefined;
  }

  /** Close the connection (graceful, bounded by `timeoutMs`, then cut); no new dials. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const link = this.link;
    this.link = undefined;
    if (!link) return;
    await closeLink(link, timeoutMs);
  }
}

/** Calls to one actor on one peer. */
export class RemoteInvoker implements RefInvoker, RouteSource {
  /** The route of the connection last seen up: a route is asked for on every call. */
  private last: Route | undefined = undefined;

  constructor(
    private readonly client: PeerClient,
    private readonly actor: string,
    private readonly interceptors: InterceptorChains,
  ) {}

  route(): Route | Promise<Route> {
    const { client } = this;
    const link = client.current();
    if (link) {
      // A connection whose peer said GoAway (or that ended unnoticed) takes no new streams: dial anew.
      if (link.channels.mux.isClosing) client.retire(link);
      else {
        if (this.last?.link !== link) this.last = { link };
        return this.last;
      }
    }
    return client.connect().then((l) => ({ link: l }));
  }

  call(method: string, args: unknown[], options: CallOptions): Call<unknown> {
    const chain = this.interceptors.client;
    if (chain.length === 0) {
      return remoteCall(this, this, this.actor, method, args, options, this.client.counters);
    }
    const outgoing: OutgoingCall = { actor: this.actor, method, args, options, peer: this.client.peer };
    return interceptCall(chain, this, outgoing, this.send);
  }

  /** A call past the client interceptors. */
  private readonly send = (c: OutgoingCall): Call<unknown> =>
    remoteCall(this, this, this.actor, c.method, c.args as unknown[], c.options, this.client.counters);

  target(options: CallOptions): Target {
    return forwardTarget(this.actor, this, options);
  }
}

/** Graceful close of a link, cut after `timeoutMs`. Never rejects. */
export async function closeLink(link: Link, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([link.close().catch(() => {}), cut]);
  clearTimeout(timer);
  link.destroy();
}

function describe(peer: Peer): string {
  if (isPortPeer(peer)) return `MessagePort #${portId(peer.messagePort)}`;
  return isUrlPeer(peer) ? peer.url : `${peer.host}:${peer.port}`;
}
