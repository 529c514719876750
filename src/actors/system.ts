/**
 * The actor system: one node. It hosts actors, listens and dials with its identity, and owns the
 * tsyringe container actors are resolved from (each actor gets a child container).
 */
import 'reflect-metadata';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { type DependencyContainer, container as rootContainer } from 'tsyringe';
import { acceptPortPeer, dialPortPeer } from '#platform/message-port.js';
import { dialTls, listenTls, memberGrantCheck } from '#platform/tls.js';
import { dialWebSocket, listenWebSocket } from '#platform/websocket.js';
import type { AuthorizedKeyInput, AuthorizedKeys, Identity } from '../auth/index.js';
import { fromBase64url } from '../auth/key-codec.js';
import { announcedAddresses } from '../cluster/announce.js';
import type { MemberAddresses } from '../cluster/member.js';
import type { Membership } from '../cluster/membership.js';
import type { StateStore } from '../cluster/placement.js';
import { type ChannelConfig, ChannelSession } from '../transport/channel/index.js';
import type {
  Connection,
  ConnectionConfig,
  Listener,
  ListenHooks,
  PortLike,
  SigningIdentity,
} from '../transport/connection/index.js';
import { transportError } from '../transport/errors.js';
import type { MuxConfig } from '../transport/mux/index.js';
import { Session } from '../transport/mux/session.js';
import { ActorCell, type ActorClass, type SupervisionStats } from './callee/cell.js';
import type { HostedActor } from './callee/hosted.js';
import { KeyedHost, type KeyedServices, type KeyedStats } from './callee/keyed.js';
import { REFLECTION_ACTOR, REFLECTION_CELLS, RESERVED_PREFIX, reflectionActor } from './callee/reflection.js';
import { serveCallStream, serveChannel } from './callee/server.js';
import { ChannelInvoker } from './caller/channel-invoker.js';
import {
  closeLink,
  isPortPeer,
  isUrlPeer,
  type Peer,
  PeerClient,
  peerKey,
  RemoteInvoker,
} from './caller/client.js';
import { ClusterInvoker, type ClusterRefOptions, type MemberPeer } from './caller/cluster-invoker.js';
import { LocalInvoker } from './caller/local.js';
import { MemberRoutes } from './caller/member-routes.js';
import { OwnerCache } from './caller/owner-cache.js';
import { makeRef } from './caller/ref.js';
import { type ActorsConfig, resolveConfig } from './config.js';
import { type CallCounts, Counters } from './counters.js';
import { type ActorOptions, actorMetadata, verifyActorOptions, verifyName } from './decorators.js';
import { ActorEnds, type EndServices } from './ends.js';
import type { ErrorInfo, ErrorMapper } from './error-policy.js';
import { type RpcError, rpcError } from './errors.js';
import { type InterceptorChains, type Interceptors, interceptorChains } from './interceptors.js';
import { type Core, Link } from './link.js';
import type { ServePortOptions } from './port-peer.js';
import type { PumpStats } from './pump.js';
import { openTelemetry, type Telemetry, type TelemetryOptions } from './telemetry/open-telemetry.js';
import type { CallOptions, Ref } from './types.js';
import { MAX_ACTOR_KEY, MAX_TIMEOUT_MS } from './wire.js';

/** How to build an {@link ActorSystem}. */
export interface ActorSystemOptions {
  /**
   * This node's key. An `Identity` (Node): its TLS certificates are made from it; needed to listen, and
   * to dial. Any other {@link SigningIdentity} (a browser's `BrowserIdentity`) proves itself only with
   * the in-band handshake: it dials `{ url, key }` peers and listens for WebSocket clients, and TLS
   * rejects it (INVALID_CONFIG).
   */
  identity?: Identity | SigningIdentity;
  /** Who may connect when listening (names become `ctx.caller.name`, usable in `allow` lists). */
  authorizedKeys?: AuthorizedKeys | readonly AuthorizedKeyInput[];
  /** Parent of every actor's child container. Default: a child of tsyringe's root container. */
  container?: DependencyContainer;
  /** Limits and defaults (see {@link ActorsConfig}). Throws INVALID_CONFIG when invalid. */
  config?: Partial<ActorsConfig>;
  /** Multiplexer settings for every connection. */
  mux?: Partial<MuxConfig>;
  /** Channel settings for every connection. */
  channel?: Partial<ChannelConfig>;
  /**
   * Failures nobody else can see: an actor that failed (its start, or a handler's fatal error) and whether it restarts, an onStop that threw; and every
   * unexpected error (not an RpcError) that a handler, a callback or a stream source of this node threw
   * toward a peer, which the peer got masked as INTERNAL `internal error (id …)`: then `info` has that
   * `errorId`, and where it was thrown (docs/ERRORS.md 4.1). Must not throw. Default: console.error.
   */
  onError?: (err: unknown, info?: ErrorInfo) => void;
  /**
   * Turns an application's own errors into the RpcError callers get, in one place: called with what a
   * handler, a callback or a stream source threw that is not an RpcError; return an RpcError (say
   * FAILED_PRECONDITION with a `reason`) to send it, or undefined to mask the error (INTERNAL). Applies
   * to local calls too. Must not throw (if it does, the error is masked and what it threw reported).
   */
  mapError?: ErrorMapper;
  /**
   * How to reach a peer. Default: TLS 1.3 with `identity` for a `{ host, port }` peer, WebSocket and the
   * in-band key handshake for a `{ url }` peer; either way requiring the peer to prove `peer.key`.
   * A `{ messagePort }` peer never comes here: it is reached through its port.
   */
  dial?: (peer: Peer) => Promise<Connection>;
  /**
   * Code around every call this system serves (`server`) and makes (`client`), in this order (see
   * {@link Interceptors}). Throws INVALID_CONFIG for an entry that is not one.
   */
  interceptors?: readonly Interceptors[];
  /**
   * The built-in reflection actor `rxchan.reflection` (`ping()`, `list()`: what `rxchan ping` and
   * `rxchan list` call). Default true: served, to every caller this node accepts, and `list()` shows a
   * caller only the actors and methods its `allow` lists let it call. `{ allow }` narrows who may call
   * it at all (a bad list throws INVALID_CONFIG); false: not served (calls to it fail NOT_FOUND). Not
   * counted in `stats().actors`.
   */
  reflection?: boolean | { allow?: readonly string[] };
  /**
   * OpenTelemetry: a span and a duration for every call made and served, the trace context in the
   * calls' metadata, and `stats()` as metrics (see {@link openTelemetry}), through `@opentelemetry/api`'s
   * global providers unless given here. Inert (a check per call) until the application installs an SDK.
   * It runs before the `interceptors`, on both sides. `false`: none.
   */
  telemetry?: TelemetryOptions | false;
  /**
   * The cluster this node belongs to (docs/CLUSTER.md section 5): what `joinCluster()` announces to (or
   * `watchCluster()` follows) and `clusterRef()` routes over.
   */
  cluster?: ClusterOptions;
  /**
   * Where keyed actors declaring `state: true` keep it (`memoryStateStore()` for one process, not
   * durable). Default: the cluster membership's `state`, if it offers one. A keyed actor with `state`
   * and no store: `register()` throws INVALID_CONFIG.
   */
  stateStore?: StateStore;
}

/** Options of a keyed ref (`system.ref(name, key, options)`): its calls' options, and where the actor is. */
export type KeyedRefOptions = CallOptions & {
  /** Call the actor on this peer directly. Default: through the cluster when the system is in one, else locally. */
  peer?: Peer;
};

/** How a system takes part in a cluster (docs/CLUSTER.md section 5). */
export interface ClusterOptions {
  /** The membership provider (`staticMembership`, `postgresMembership`); the system joins it (or watches it: `watchCluster()`). */
  membership: Membership;
  /**
   * The cluster admin key (base64url or bytes). A member is dialled only if its certificate carries a
   * grant this key signed for the member's own key, valid now.
   */
  adminKey: string | Uint8Array;
  /**
   * This node's grant from the admin key (signGrant): carried in its certificates, as a listener (so
   * cluster refs accept it) and as a dialer (so members whose authorized keys trust the admin with
   * `@admin` accept it); shown in the in-band handshake of its WebSocket listeners, and of its dials
   * to WebSocket members, alike.
   */
  grant: Uint8Array;
  /**
   * This node's load as it announces it (a finite number >= 0; another value, or a throw (reported to
   * `onError`), keeps the last one). Default: the calls this node is serving for peers now.
   */
  load?: () => number;
  /**
   * ms between samples of the load after `joinCluster()`; a load that changed is published
   * (`membership.update`). Default DEFAULT_LOAD_INTERVAL_MS (5000), from 10 to 2^31-1.
   */
  loadIntervalMs?: number;
  /**
   * The addresses this node announces, where they differ from its listeners': a listener bound to
   * 0.0.0.0 or ::, a node behind NAT or a load balancer, a Kubernetes pod's DNS name. Default: its first
   * TLS listener's host and port, and its first WebSocket listener's URL. Peers dial these, and still
   * require the node's key and grant there.
   */
  announce?: MemberAddresses;
}

/** Default ms between samples of a cluster node's load ({@link ClusterOptions.loadIntervalMs}). */
export const DEFAULT_LOAD_INTERVAL_MS = 5000;

export type { ClusterRefOptions };

/**
 * Where to listen, and the listener's connection settings (`handshakeTimeoutMs`, `maxHandshakes`,
 * `maxConnections`, certificate lifetime, tickets: see {@link ConnectionConfig}; defaults as there).
 * An invalid value makes `listen()` reject with INVALID_CONFIG.
 */
export interface ListenOptions extends Partial<ConnectionConfig>, ListenHooks {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0: any free port (read it from the result). */
  port?: number;
  /**
   * Listen for WebSocket clients instead of TLS ones (browsers, HTTP-only networks): they prove their
   * keys with the in-band handshake, then speak the same protocol. Call `listen()` once per transport
   * to have both. With `websocket`, `host` and `port` are ignored: set them inside it.
   */
  websocket?: WebSocketListen;
}

/** Where a system listens for WebSocket clients (see {@link ListenOptions.websocket}). */
export interface WebSocketListen {
  /** Our own server's address. Default '127.0.0.1'. */
  host?: string;
  /** Our own server's port; 0 picks a free one. Default 0. */
  port?: number;
  /** Certificate and key (PEM) of our own server: `wss://`. Default plain `ws://` (use a TLS proxy, or `server`). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** An existing `http`/`https` server to attach to instead (its other requests are left alone). */
  server?: HttpServer | HttpsServer;
  /** The request path. Default '/rxchan'. */
  path?: string;
  /**
   * The URLs clients dial, which the handshake binds (see SECURITY.md). Default: `ws(s)://HOST:PORT/PATH`
   * of the bound address; needed for host names and proxies.
   */
  origins?: readonly string[];
}

/** Counters of a system, for monitoring and for specs that prove memory stays bounded. */
export interface SystemStats {
  /** Actors registered (built-in ones, such as the reflection actor, are not counted). */
  actors: number;
  /** Connections open (both directions). */
  connections: number;
  /** Calls this node made and that have not ended. */
  pendingCalls: number;
  /** Calls peers made here that are in progress. */
  servedCalls: number;
  /** Items waiting in push-stream buffers (bounded by each stream's `buffer`). */
  bufferedItems: number;
  /** Items dropped by 'drop-oldest' / 'drop-newest' overflow policies so far. */
  droppedItems: number;
  /** Actor restarts so far (see `@actor({ restart })`). */
  restarts: number;
  /**
   * Calls this node made (through local and remote refs, and callbacks) that ended, by how they ended:
   * 'OK' or the RpcError code. A stream call ends when its stream does (completes, errors, or is
   * unsubscribed: CANCELLED).
   */
  callsMade: CallCounts;
  /** Calls peers made here that ended, by how they ended (as {@link callsMade}). */
  callsServed: CallCounts;
  /** Stream results in progress: read here (calls this node made) plus sent from here (calls served). */
  activeStreams: number;
  /** Connections opened so far, both directions (dialled and accepted). */
  connectionsOpened: number;
  /** Of those, connections that ended. */
  connectionsClosed: number;
  /** Bytes read from all connections so far (multiplexer frames, before TLS). */
  bytesIn: number;
  /** Bytes written to all connections so far (multiplexer frames, before TLS). */
  bytesOut: number;
  /** Activations of keyed actors now (see `@actor({ keyed })`). */
  activations: number;
  /** Activations of keyed actors made so far. */
  activated: number;
  /** Activations of keyed actors passivated (idle, stale, failed, fenced, or stopped) so far. */
  passivated: number;
}

/**
 * One node of actors.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * @actor('greeter')
 * class Greeter {
 *   hello(name: string, ctx: CallContext): string { return `hello ${name} from ${ctx.caller.name}`; }
 * }
 * const server = new ActorSystem({ identity: serverId, authorizedKeys: [{ key: clientId.id, name: 'alice' }] });
 * server.register(Greeter);
 * const { port } = await server.listen();
 * const client = new ActorSystem({ identity: clientId });
 * const greeter = client.ref<Greeter>('greeter', { host: '127.0.0.1', port, key: serverId.id });
 * console.log(await greeter.hello('bob'));
 * // Logs:
 * // hello bob from alice
 * ```
 */
export class ActorSystem {
  readonly container: DependencyContainer;
  readonly config: ActorsConfig;
  private readonly cells = new Map<string, HostedActor>();
  private readonly keyedStats: KeyedStats = { activations: 0, activated: 0, passivated: 0 };
  private readonly peers = new Map<string, PeerClient>();
  private readonly links = new Set<Link>();
  private readonly listeners: Listener[] = [];
  private readonly pumpStats: PumpStats = { buffered: 0, dropped: 0 };
  private readonly counters = new Counters();
  private readonly supervision: SupervisionStats = { restarts: 0 };
  /** Actors being unregistered, and the end of their stop. */
  private readonly leaving = new Map<HostedActor, Promise<void>>();
  private readonly core: Core;
  private readonly interceptors: InterceptorChains;
  /** Stops reporting stats() as metrics. */
  private readonly unobserve: (() => void) | undefined;
  /** Built-in actors hosted (see {@link RESERVED_PREFIX}). */
  private readonly builtins: number = 0;
  private closing: Promise<void> | undefined;
  /** Clients of cluster members, by address and key (section 5 of docs/CLUSTER.md). */
  private readonly members = new Map<string, PeerClient>();
  private joined = false;
  /** What this system asked of the membership: to join it (joinCluster) or to watch it (watchCluster). */
  private clusterRole: 'member' | 'watcher' | undefined;
  /** What this node last told the membership (actor names joined by NUL, load). */
  private announced = { actors: '', load: 0 };
  private announcing = false;
  private announceAgain = false;
  private loadTimer: NodeJS.Timeout | undefined;
  /** The owners of keys last seen by this system's cluster refs. */
  private readonly owners = new OwnerCache();
  /** The members cluster refs route over, with their clients (made by the first clusterRef). */
  private routes: MemberRoutes | undefined;
  private readonly tlsListeners = new WeakSet<Listener>();
  /** The URLs of this system's WebSocket listeners, in the order they were made (joinCluster announces the first). */
  private readonly wsUrls: string[] = [];

  constructor(private readonly options: ActorSystemOptions = {}) {
    this.config = resolveConfig(options.config);
    this.container = options.container ?? rootContainer.createChildContainer();
    this.container.register(ActorSystem, { useValue: this });
    const report =
      options.onError ??
      ((err: unknown, info?: ErrorInfo) =>
        info === undefined
          ? console.error('[rxchan]', err)
          : console.error('[rxchan] error id', info.errorId, err));
    const chains = interceptorChains(options.interceptors);
    const telemetry = options.telemetry === false ? undefined : openTelemetry(options.telemetry);
    this.interceptors = telemetry === undefined ? chains : withTelemetry(telemetry, chains);
    this.unobserve = telemetry?.observe(this);
    this.core = {
      config: this.config,
      stats: this.pumpStats,
      counters: this.counters,
      interceptors: this.interceptors,
      report,
      mapError: options.mapError,
      lookup: (name) => this.cells.get(name),
      overQueued: (queued) => this.overQueued(queued),
    };
    const reflection = options.reflection ?? true;
    if (reflection !== false) {
      const allow = reflection === true ? undefined : reflection.allow;
      this.container.register(REFLECTION_CELLS, { useValue: () => this.cells.values() });
      const cls = reflectionActor();
      const opts: ActorOptions = allow === undefined ? {} : { allow };
      verifyActorOptions(opts);
      this.cells.set(REFLECTION_ACTOR, this.newCell(REFLECTION_ACTOR, cls, opts));
      this.builtins = 1;
    }
  }

  /**
   * Host an actor class: by the name and options of its `@actor` decorator, or by `name` (options
   * merged over the decorator's). The instance is resolved from a child container and started
   * (`onStart`) at once; calls wait for the start. Resolves when started (after restarts, under a
   * restart policy); rejects with the start's failure (the last one, once the restarts are used up),
   * which is also reported to `onError` (so not awaiting is fine), or UNAVAILABLE when the actor was
   * stopped first. A class with constructor parameters must be `@actor` or `@injectable()` (tsyringe
   * needs their types).
   * Throws TransportError INVALID_CONFIG for a bad name or options; RpcError INVALID_ARGUMENT when the
   * class has no `@actor` name and none is given, the name is taken (until `unregister(name)` has
   * resolved), or it starts with `rxchan.` (reserved for built-in actors, such as `rxchan.reflection`);
   * UNAVAILABLE after close().
   */
  register<T extends object>(cls: ActorClass<T>): Promise<void>;
  register<T extends object>(name: string, cls: ActorClass<T>, options?: ActorOptions): Promise<void>;
  register(a: string | ActorClass, b?: ActorClass, c?: ActorOptions): Promise<void> {
    const cls = typeof a === 'string' ? b! : a;
    const meta = actorMetadata(cls);
    const name = typeof a === 'string' ? a : meta?.name;
    if (name === undefined) throw rpcError('INVALID_ARGUMENT', `${cls.name} has no @actor name: pass one`);
    verifyName(name);
    if (name.startsWith(RESERVED_PREFIX))
      throw rpcError(
        'INVALID_ARGUMENT',
        `actor names starting with ${RESERVED_PREFIX} are reserved: ${name}`,
      );
    const options: ActorOptions = { ...meta?.options, ...c };
    verifyActorOptions(options);
    if (this.closing) throw rpcError('UNAVAILABLE', 'the actor system is closed');
    if (this.cells.has(name))
      throw rpcError('INVALID_ARGUMENT', `an actor named ${name} is already registered`);
    const cell = options.keyed ? this.newKeyed(name, cls, options) : this.newCell(name, cls, options);
    this.cells.set(name, cell);
    this.announce();
    return cell.ready;
  }

  /** The host of a keyed actor. Throws INVALID_CONFIG for `state` without a state store. */
  private newKeyed(name: string, cls: ActorClass, options: ActorOptions): KeyedHost {
    const membership = this.options.cluster?.membership;
    const store = this.options.stateStore ?? membership?.state;
    if (options.state && store === undefined) {
      throw transportError(
        'INVALID_CONFIG',
        `actor ${name} has state: true, and the system has no state store (options.stateStore)`,
      );
    }
    const services: KeyedServices = {
      container: this.container,
      config: this.config,
      report: this.core.report,
      supervision: this.supervision,
      stats: this.keyedStats,
      self: this.options.identity?.id,
      placement: membership?.placement,
      unplaced: membership !== undefined && membership.placement === undefined,
      store,
    };
    return new KeyedHost(name, cls, options, services);
  }

  private newCell(name: string, cls: ActorClass, options: ActorOptions): ActorCell {
    const { container, config, core, supervision } = this;
    return new ActorCell(name, cls, options, container, config, core.report, supervision);
  }

  /**
   * Stop the actor `name` as `close()` stops each actor, then free its name. New calls to it fail
   * UNAVAILABLE at once, and so do the calls queued in its mailbox; the calls running get
   * `closeTimeoutMs` (from now) to end, then are aborted (their signal fires, UNAVAILABLE); then its
   * `onStop` runs and its container is disposed. Works on a failed actor too. Resolves when that is done:
   * from then on, calls to `name` fail NOT_FOUND and `register(name, ...)` works again (refs made before
   * find the new actor: they look the name up on every call). Never rejects but for an unknown `name`:
   * RpcError NOT_FOUND, and a built-in actor (`rxchan.`): INVALID_ARGUMENT. Calling it again while it
   * runs returns the same promise.
   */
  unregister(name: string): Promise<void> {
    if (name.startsWith(RESERVED_PREFIX)) {
      return Promise.reject(
        rpcError('INVALID_ARGUMENT', `${name} is a built-in actor: it cannot be unregistered`),
      );
    }
    const cell = this.cells.get(name);
    if (cell === undefined) return Promise.reject(rpcError('NOT_FOUND', `no actor named ${name}`));
    let leaving = this.leaving.get(cell);
    if (leaving === undefined) {
      const deadline = new Deadline(this.config.closeTimeoutMs);
      leaving = stopCell(cell, deadline, this.overdue('the actor is being unregistered')).finally(() => {
        deadline.clear();
        this.leaving.delete(cell);
        if (this.cells.get(name) === cell) this.cells.delete(name);
      });
      this.leaving.set(cell, leaving);
      this.announce();
    }
    return leaving;
  }

  /**
   * A typed ref to the actor `name`: in this system when `peer` is undefined, else on that peer
   * (connected on first use, and again on the first use after the connection was lost). Never throws
   * for an unknown actor: its calls fail NOT_FOUND. A local ref has the same API and the same
   * semantics (mailbox, deadlines, cancellation, RpcErrors), but passes arguments and results by
   * reference, not copied, and is not checked against `allow` lists. `options` apply to every call.
   */
  ref<T>(name: string, peer?: Peer, options?: CallOptions): Ref<T>;
  /**
   * A typed ref to the activation of `key` (1 to 256 characters) of the keyed actor `name`: on
   * `options.peer` when given; else through the cluster (`clusterRef(name, { ...options, key })`) when
   * the system is in one; else in this system. Throws RpcError INVALID_ARGUMENT for a bad key.
   */
  ref<T>(name: string, key: string, options?: KeyedRefOptions): Ref<T>;
  ref<T>(name: string, where?: Peer | string, options: KeyedRefOptions = {}): Ref<T> {
    if (typeof where === 'string') return this.keyedRef<T>(name, where, options);
    return this.unkeyedRef<T>(name, where, options);
  }

  private keyedRef<T>(name: string, key: string, options: KeyedRefOptions): Ref<T> {
    if (key.length === 0 || key.length > MAX_ACTOR_KEY) {
      throw rpcError('INVALID_ARGUMENT', `a key must be 1 to ${MAX_ACTOR_KEY} characters`);
    }
    const { peer, ...call } = options;
    const keyed: CallOptions = { ...call, key };
    if (peer !== undefined) return this.unkeyedRef<T>(name, peer, keyed);
    if (this.options.cluster !== undefined) return this.clusterRef<T>(name, keyed);
    return this.unkeyedRef<T>(name, undefined, keyed);
  }

  private unkeyedRef<T>(name: string, peer: Peer | undefined, options: CallOptions): Ref<T> {
    if (peer === undefined) {
      const local = new LocalInvoker(
        name,
        (n) => this.cells.get(n),
        this.interceptors,
        this.core.report,
        this.counters,
        this.options.mapError,
      );
      return makeRef<T>(local, options);
    }
    const key = peerKey(peer);
    let client = this.peers.get(key);
    if (!client) {
      client = new PeerClient(peer, () => this.dialPeer(peer), this.config, this.counters);
      this.peers.set(key, client);
    }
    return makeRef<T>(new RemoteInvoker(client, name, this.interceptors), options);
  }

  /**
   * A typed ref to the actor `name` somewhere in the cluster (`options.cluster`). A call goes to a live
   * member whose row lists `name`, over TLS to the address its row gives (a member with only a WebSocket URL: over WebSocket to it),
   * pinned to the key its row names, and only if that member's certificate (in-band: its proof) carries
   * a valid grant from the cluster admin key (else the handshake is refused before anything is sent). Unkeyed (no `options.key`): calls go to the
   * members in turn (round robin, in key id order). Keyed: to the member last seen holding the key
   * (remembered for up to OWNER_CACHE_SIZE keys), else in rendezvous order, following a NOT_OWNER
   * refusal to the owner it names and passing a FENCED one, at most MAX_KEYED_HOPS members per call.
   * A member that cannot be reached (refused, down, no grant, another key) is skipped for the same call,
   * then for `reconnectBaseMs` and more (backoff). Once a call reached a member it is sent again only if
   * its method is in `options.idempotent` and it failed UNAVAILABLE before its first reply record (at
   * most MAX_IDEMPOTENT_ATTEMPTS members). Fails UNAVAILABLE when no member took the call. Throws
   * RpcError INVALID_ARGUMENT without `options.cluster` or an identity, or for a key that is not a
   * string of 1 to 256 characters.
   */
  clusterRef<T>(name: string, options: ClusterRefOptions = {}): Ref<T> {
    const cluster = this.clusterOptions();
    const { key, idempotent, ...callOptions } = options;
    if (key !== undefined && (typeof key !== 'string' || key.length < 1 || key.length > 256)) {
      throw rpcError('INVALID_ARGUMENT', 'a cluster ref key must be a string of 1 to 256 characters');
    }
    const routes = this.memberRoutes(cluster.membership);
    const invoker = new ClusterInvoker(routes, name, this.interceptors, this.counters, key, idempotent);
    return makeRef<T>(invoker, callOptions);
  }

  /** The routes every cluster ref of this system shares (made on first use). */
  private memberRoutes(membership: Membership): MemberRoutes {
    this.routes ??= new MemberRoutes(
      () => membership.members(),
      (peer: MemberPeer): PeerClient => {
        const id = peerKey(peer);
        let client = this.members.get(id);
        if (!client) {
          client = new PeerClient(peer, () => this.dialMember(peer), this.config, this.counters);
          this.members.set(id, client);
        }
        return client;
      },
      this.owners,
    );
    return this.routes;
  }

  /**
   * Announce this node to `options.cluster.membership`: its key, the address of its first TLS listener and the URL of its first WebSocket
   * listener (either may be missing, not both),
   * the actors registered (and from then on each actor registered or unregistered), and its load
   * (`ClusterOptions.load`, sampled every `loadIntervalMs`, published when it changed). Call it after
   * `listen()`. `close()` leaves the cluster first. Rejects RpcError INVALID_ARGUMENT without
   * `options.cluster`, an identity or a TLS or WebSocket listener, for a bad `loadIntervalMs`, or after
   * `watchCluster()` or another `joinCluster()`; or as the provider's `join` does.
   */
  async joinCluster(): Promise<void> {
    const cluster = this.clusterOptions();
    if (this.closing) throw rpcError('UNAVAILABLE', 'the actor system is closed');
    this.noClusterRoleYet('joinCluster');
    const tls = this.listeners.find((l) => this.tlsListeners.has(l));
    const ws = this.wsUrls[0];
    const addresses = announcedAddresses(
      { ...(tls ? { tls: { host: tls.host, port: tls.port } } : {}), ...(ws !== undefined ? { ws } : {}) },
      cluster.announce,
    );
    const intervalMs = cluster.loadIntervalMs ?? DEFAULT_LOAD_INTERVAL_MS;
    if (!Number.isInteger(intervalMs) || intervalMs < 10 || intervalMs > MAX_TIMEOUT_MS) {
      throw rpcError(
        'INVALID_ARGUMENT',
        `cluster.loadIntervalMs must be an integer from 10 to ${MAX_TIMEOUT_MS}`,
      );
    }
    const actors = this.announcedActors();
    const load = this.sampleLoad();
    this.clusterRole = 'member';
    await cluster.membership.join({
      keyId: this.options.identity!.id,
      addresses,
      actors,
      load,
    });
    this.joined = true;
    this.announced = { actors: actors.join('\u0000'), load };
    this.loadTimer = setInterval(() => this.announce(), intervalMs);
    this.loadTimer.unref();
  }

  /**
   * Follow `options.cluster.membership` without joining it (`Membership.watch`), for a system that calls
   * the cluster and hosts nothing there: no listener needed, nothing announced, no keys held. Then
   * `clusterRef()` and keyed `ref(name, key)` route over the live members, its dials carrying
   * `cluster.grant` and requiring the members' grants from `cluster.adminKey`, as a member's do.
   * `close()` closes the membership. Rejects RpcError INVALID_ARGUMENT without `options.cluster` or an
   * identity, or after `joinCluster()` or another `watchCluster()`; or as the provider's `watch` does.
   */
  async watchCluster(): Promise<void> {
    const cluster = this.clusterOptions();
    if (this.closing) throw rpcError('UNAVAILABLE', 'the actor system is closed');
    this.noClusterRoleYet('watchCluster');
    this.clusterRole = 'watcher';
    await cluster.membership.watch();
  }

  /** Throws INVALID_ARGUMENT once joinCluster or watchCluster was called: one role per system. */
  private noClusterRoleYet(call: string): void {
    if (this.clusterRole === undefined) return;
    const was = this.clusterRole === 'member' ? 'joinCluster' : 'watchCluster';
    throw rpcError('INVALID_ARGUMENT', `${call} after ${was}: a system joins or watches its cluster, once`);
  }

  /** The actors this node lists in the cluster: those registered, but for built-in ones. */
  private announcedActors(): string[] {
    const names: string[] = [];
    for (const [name, cell] of this.cells) {
      if (!name.startsWith(RESERVED_PREFIX) && !this.leaving.has(cell)) names.push(name);
    }
    return names;
  }

  /** This node's load now: `ClusterOptions.load`, else the calls it serves for peers. */
  private sampleLoad(): number {
    const load = this.options.cluster?.load;
    if (load === undefined) {
      let served = 0;
      for (const l of this.links) served += l.servedCount;
      return served;
    }
    try {
      const n = load();
      return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : this.announced.load;
    } catch (err) {
      this.core.report(err);
      return this.announced.load;
    }
  }

  /**
   * Tell the membership what changed in this node's actors and load (nothing when nothing did). One
   * update at a time; a change made meanwhile goes in the next. A failed update is reported to
   * `onError` and tried again on the next change or sample.
   */
  private announce(): void {
    if (!this.joined || this.closing) return;
    if (this.announcing) {
      this.announceAgain = true;
      return;
    }
    const actors = this.announcedActors();
    const load = this.sampleLoad();
    const names = actors.join('\u0000');
    const change: { actors?: string[]; load?: number } = {};
    if (names !== this.announced.actors) change.actors = actors;
    if (load !== this.announced.load) change.load = load;
    if (change.actors === undefined && change.load === undefined) return;
    this.announcing = true;
    this.options
      .cluster!.membership.update(change)
      .then(
        () => {
          this.announced = { actors: names, load };
        },
        (err: unknown) => this.core.report(err),
      )
      .finally(() => {
        this.announcing = false;
        if (this.announceAgain) {
          this.announceAgain = false;
          this.announce();
        }
      });
  }

  private clusterOptions(): ClusterOptions {
    const { cluster, identity } = this.options;
    if (!cluster) throw rpcError('INVALID_ARGUMENT', 'no cluster: pass options.cluster');
    if (!identity) throw rpcError('INVALID_ARGUMENT', 'a cluster node needs an identity');
    return cluster;
  }

  /**
   * Dial a member over TLS or WebSocket: its row's key pinned, its grant from the admin key required
   * (in its certificate, or its in-band proof), ours presented.
   */
  private async dialMember(peer: MemberPeer): Promise<Link> {
    if (this.closing) throw rpcError('UNAVAILABLE', 'the actor system is closed');
    const { identity } = this.options;
    const cluster = this.clusterOptions();
    const trust = {
      identity: identity!,
      serverKey: peer.key!,
      grant: cluster.grant,
      serverGrant: memberGrantCheck(cluster.adminKey),
    };
    const connection = isUrlPeer(peer)
      ? await dialWebSocket({ ...trust, url: peer.url })
      : await dialTls({ ...trust, host: peer.host, port: peer.port });
    const link = this.attach(connection);
    if (!link) throw rpcError('UNAVAILABLE', 'the actor system is closed');
    return link;
  }

  /**
   * Listen for peers over TLS 1.3 with this node's identity; only `authorizedKeys` may connect. `options`
   * also takes the listener's connection settings and `onRefused` (see {@link ListenOptions}). With
   * `websocket`, listen for WebSocket clients instead; the result then has the `url` to dial.
   */
  async listen(options: ListenOptions = {}): Promise<{ host: string; port: number; url?: string }> {
    const { identity, authorizedKeys } = this.options;
    if (!identity) throw rpcError('INVALID_ARGUMENT', 'listen needs an identity');
    if (!authorizedKeys) throw rpcError('INVALID_ARGUMENT', 'listen needs authorizedKeys');
    if (this.closing) throw rpcError('UNAVAILABLE', 'the actor system is closed');
    const grant = this.options.cluster?.grant;
    if (options.websocket) {
      const { websocket, host: _host, port: _port, ...connection } = options;
      const listener = await listenWebSocket(
        { ...connection, ...websocket, identity, authorizedKeys, ...(grant ? { grant } : {}) },
        (c) => this.serve(c),
      );
      this.listeners.push(listener);
      this.wsUrls.push(listener.url);
      return { host: listener.host, port: listener.port, url: listener.url };
    }
    const listener = await listenTls(
      {
        ...options,
        identity,
        authorizedKeys,
        host: options.host ?? '127.0.0.1',
        port: options.port ?? 0,
        ...(grant ? { grant } : {}),
      },
      (connection) => this.serve(connection),
    );
    this.listeners.push(listener);
    this.tlsListeners.add(listener);
    return { host: listener.host, port: listener.port };
  }

  /**
   * Serve a connection made elsewhere (a custom listener, an in-memory pair): the peer may call this
   * system's actors on it. Calls from a connection without a verified peer have no caller identity.
   */
  serve(connection: Connection): void {
    const link = this.attach(connection);
    if (!link) return;
    link.channels.onDuplex = (stream) => serveCallStream(link, stream);
  }

  /**
   * Serve this system's actors to the thread at the other end of `port` (a `worker_threads`
   * MessageChannel port, `parentPort` in a worker, a browser Worker's port), which makes refs with
   * `{ messagePort, key }`. The peer proves its key in the in-band handshake and is judged by
   * `authorizedKeys` as over TLS (`callContext().caller`, `allow` lists), unless `options.insecure`
   * (both sides must say it). Resolves once the connection is up; rejects RpcError INVALID_ARGUMENT (no
   * identity or authorizedKeys), UNAVAILABLE (closed, or the port already carried a connection), or
   * the connection layer's TransportError (UNAUTHENTICATED, HANDSHAKE_TIMEOUT, CONNECTION_LOST,
   * INVALID_CONFIG); the port is closed then.
   */
  async servePort(port: PortLike, options: ServePortOptions = {}): Promise<void> {
    if (this.closing) throw rpcError('UNAVAILABLE', 'the actor system is closed');
    const { identity, authorizedKeys } = this.options;
    this.serve(await acceptPortPeer(port, identity, authorizedKeys, options));
  }

  /** Counters; see {@link SystemStats}. */
  stats(): SystemStats {
    const c = this.counters;
    let pendingCalls = 0;
    let servedCalls = 0;
    let bytesIn = c.closedBytesIn;
    let bytesOut = c.closedBytesOut;
    for (const l of this.links) {
      pendingCalls += l.pendingCount;
      servedCalls += l.servedCount;
      if (l.isClosed) continue; // its bytes are in the closed totals already
      bytesIn += l.channels.mux.bytesRead;
      bytesOut += l.channels.mux.bytesWritten;
    }
    return {
      actors: this.cells.size - this.builtins,
      connections: this.links.size,
      pendingCalls,
      servedCalls,
      bufferedItems: this.pumpStats.buffered,
      droppedItems: this.pumpStats.dropped,
      restarts: this.supervision.restarts,
      callsMade: { ...c.made },
      callsServed: { ...c.served },
      activeStreams: c.streamsIn + c.streamsOut,
      connectionsOpened: c.connectionsOpened,
      connectionsClosed: c.connectionsClosed,
      bytesIn,
      bytesOut,
      activations: this.keyedStats.activations,
      activated: this.keyedStats.activated,
      passivated: this.keyedStats.passivated,
    };
  }

  /**
   * Shut down gracefully; resolves when everything below is done. Idempotent: every call returns the
   * same promise. Never rejects (failures of `onStop` go to `onError`).
   *
   * 1. Stop accepting: the listeners close, a connection that completes its handshake now is cut,
   *    no new dial starts, `register()` and `listen()` throw UNAVAILABLE, and new calls to this
   *    system's actors fail UNAVAILABLE at once.
   * 2. Calls still queued in a mailbox are answered UNAVAILABLE at once: they never start.
   * 3. Calls running go on, for at most `closeTimeoutMs` from when close() began, IN TOTAL (step 5
   *    has what is left of it). An actor whose handlers have all ended goes to step 4 at once;
   *    handlers still running at the deadline are aborted: their `callContext().signal` fires with
   *    UNAVAILABLE, and they are not waited for. Their callers get UNAVAILABLE: a local caller at
   *    once, a remote one when step 5 cuts its connection.
   * 4. Each actor's `onStop` runs (close() waits for it, however long it takes).
   * 5. The connections close gracefully (GoAway: no new calls either way) in what is left of
   *    `closeTimeoutMs`, which lets stream results, calls this system made, and byte streams finish;
   *    at the deadline they are cut, and what is still in progress on them fails UNAVAILABLE.
   *
   * `closeOnSignals(system)` wires SIGTERM and SIGINT to it.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const timeoutMs = this.config.closeTimeoutMs;
    const deadline = new Deadline(timeoutMs);
    try {
      if (this.loadTimer !== undefined) clearInterval(this.loadTimer);
      // 0. Passivate keyed actors (releasing their claims), then leave the cluster: members stop
      // routing calls here.
      const overdueKeyed = this.overdue('the actor system is closing');
      await Promise.all(
        [...this.cells.values()]
          .filter((c) => c instanceof KeyedHost)
          .map((c) => stopCell(c, deadline, overdueKeyed)),
      );
      if (this.joined) await this.options.cluster!.membership.leave().catch(this.core.report);
      else if (this.clusterRole === 'watcher')
        await this.options.cluster!.membership.close().catch(this.core.report);
      // 1. Listeners refuse from now on (their close does not wait for the connections).
      const listening = this.listeners.map((l) => l.close().catch(this.core.report));
      const overdue = this.overdue('the actor system is closing');
      // 2-4, for each actor on its own.
      await Promise.all([...this.cells.values()].map((cell) => stopCell(cell, deadline, overdue)));
      // 5.
      const left = deadline.left();
      await Promise.all([
        ...[...this.peers.values(), ...this.members.values()].map((p) => p.close(left)),
        ...[...this.links].map((link) => closeLink(link, left)),
      ]);
      await Promise.all(listening);
    } finally {
      deadline.clear();
      this.unobserve?.();
    }
  }

  /** The error of a handler aborted at `closeTimeoutMs` while `why`. */
  private overdue(why: string): RpcError {
    const ms = this.config.closeTimeoutMs;
    return rpcError('UNAVAILABLE', `${why}: the call ran past closeTimeoutMs (${ms} ms)`);
  }

  /** The bytes queued for all connections, summed at most once per millisecond. */
  private queued = { at: 0, bytes: 0 };

  private overQueued(queued: number): boolean {
    const limit = this.config.maxQueuedBytes;
    if (limit === 0 || queued <= limit / Math.max(1, this.links.size)) return false;
    const now = Date.now();
    if (now !== this.queued.at) {
      let bytes = 0;
      for (const link of this.links) bytes += link.channels.mux.queuedBytes;
      this.queued = { at: now, bytes };
    }
    return this.queued.bytes > limit;
  }

  private async dialPeer(peer: Peer): Promise<Link> {
    if (this.closing) throw rpcError('UNAVAILABLE', 'the actor system is closed');
    // A port peer is reached through its port: the `dial` option is for network peers.
    const dial = isPortPeer(peer) ? undefined : this.options.dial;
    const connection = await (dial ?? ((p: Peer) => this.dialDefault(p)))(peer);
    const link = this.attach(connection);
    if (!link) throw rpcError('UNAVAILABLE', 'the actor system is closed');
    // A dialled connection serves no calls by name (its DUPLEX streams are reset): the peer calls us only
    // through the refs and callbacks we pass it.
    return link;
  }

  private dialDefault(peer: Peer): Promise<Connection> {
    const { identity } = this.options;
    if (isPortPeer(peer)) return dialPortPeer(peer, identity);
    if (!identity) throw rpcError('INVALID_ARGUMENT', 'dialling a peer needs an identity');
    // A node of a cluster shows its cluster grant to every peer unless the peer names its own.
    const grant = peer.grant ?? this.options.cluster?.grant;
    if (isUrlPeer(peer)) {
      if (peer.key === undefined) throw rpcError('INVALID_ARGUMENT', `peer ${peer.url} has no key`);
      return dialWebSocket({ identity, url: peer.url, serverKey: peer.key, ...(grant ? { grant } : {}) });
    }
    if (peer.key === undefined)
      throw rpcError('INVALID_ARGUMENT', `peer ${peer.host}:${peer.port} has no key`);
    return dialTls({
      identity,
      host: peer.host,
      port: peer.port,
      serverKey: peer.key,
      ...(grant !== undefined ? { grant: grantBytes(grant) } : {}),
    });
  }

  private attach(connection: Connection): Link | undefined {
    if (this.closing) {
      connection.socket.destroy();
      return undefined;
    }
    const mux = new Session(connection.socket, connection.role, this.options.mux);
    const ends = new ActorEnds(END_SERVICES);
    const channels = new ChannelSession(mux, this.options.channel, ends);
    // Actors use no top-level channels: one the peer opens is cancelled.
    channels.onChannel = (receiver) => receiver.cancel();
    const link = new Link(this.core, connection, channels, ends);
    ends.link = link;
    this.links.add(link);
    void channels.closed.then(() => this.links.delete(link));
    return link;
  }
}

/**
 * `chains` with telemetry's interceptors first (outermost: their spans and durations cover the others)
 * while telemetry is active, and `chains` alone while it is not (no SDK installed): a call then pays one
 * check, and a system without interceptors keeps its path without a chain.
 */
function withTelemetry(telemetry: Telemetry, chains: InterceptorChains): InterceptorChains {
  const server = [telemetry.server, ...chains.server];
  const client = [telemetry.client, ...chains.client];
  return {
    get server() {
      return telemetry.active() ? server : chains.server;
    },
    get client() {
      return telemetry.active() ? client : chains.client;
    },
  };
}

/** How refs and callbacks passed across a connection are served and called (see ends.ts). */
const END_SERVICES: EndServices = {
  serveChannel,
  passedInvoker: (link, sender, what, held) => new ChannelInvoker(link, sender, what, held),
};

/**
 * Steps 2-4 of a close for one actor: drain it, abort the handlers still running at `deadline` with
 * `overdue`, stop it. Never rejects.
 */
async function stopCell(cell: HostedActor, deadline: Deadline, overdue: RpcError): Promise<void> {
  if (!(await deadline.race(cell.drain()))) cell.abortRunning(overdue);
  await cell.stop();
}

/** The longest delay a Node timer takes, ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The moment close() gives up waiting: `ms` from when it was made. */
class Deadline {
  private readonly at: number;
  private readonly passed: Promise<false>;
  private timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.at = Date.now() + ms;
    this.passed = new Promise((resolve) => {
      // A Node timer fires at once beyond 2^31-1 ms: wait that long at most (about 24.8 days).
      this.timer = setTimeout(resolve, Math.min(ms, MAX_TIMER_MS), false);
    });
  }

  /** True when `work` settled before the deadline, false at the deadline (`work` goes on). */
  race(work: Promise<unknown>): Promise<boolean> {
    return Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      this.passed,
    ]);
  }

  /** Ms until the deadline; 0 once it passed. */
  left(): number {
    return Math.max(0, this.at - Date.now());
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** A grant from base64url text or bytes. Throws RpcError INVALID_ARGUMENT for text that is not base64url. */
function grantBytes(grant: string | Uint8Array): Uint8Array {
  if (typeof grant !== 'string') return grant;
  const bytes = fromBase64url(grant);
  if (!bytes) throw rpcError('INVALID_ARGUMENT', 'a peer grant must be base64url text or bytes');
  return bytes;
}
