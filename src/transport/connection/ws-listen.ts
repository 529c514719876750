/**
 * listenWebSocket: rxchan over WebSocket (the `ws` package), on a port of its own or attached to an
 * existing `http`/`https` server at a path. Each connection runs the in-band key handshake
 * (inband.ts) and the prelude over binary messages, then carries the multiplexer like any other.
 * Limits as the TLS listener has them: handshakes at once (in all, per source address), the handshake
 * deadline, the first-bytes deadline (the client speaks first), established connections (in all, per
 * source address), and the largest message.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AuthorizedKeyInput, AuthorizedKeys, PeerIdentity } from '../../auth/index.js';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import { addressKey } from './address-key.js';
import { toAuthorizedKeys } from './authorized-keys-option.js';
import type { ConnectionConfig } from './config.js';
import { resolveConfig } from './config.js';
import {
  type Connection,
  type Listener,
  type ListenHooks,
  type RefusedReason,
  remoteAddressOf,
  reportUnhandledError,
} from './connection.js';
import { type Ed25519Signer, inbandVerdict } from './inband.js';
import { canonicalOrigin } from './inband-codec.js';
import { checkServerGrant } from './inband-common.js';
import { Counter, connectionsFull, reportRefused } from './listener.js';
import { nodeSigner, nodeVerify } from './node-signer.js';
import { RejectReason } from './prelude.js';
import { serverAccept, serverReject } from './prelude-exchange.js';
import { webSocketDuplex } from './ws-duplex.js';

export interface WebSocketListenOptions extends Partial<ConnectionConfig>, ListenHooks {
  /** Our key (an Identity): the in-band handshake proves it. */
  identity: Ed25519Signer;
  /** Who may connect: an AuthorizedKeys or a list in code. */
  authorizedKeys: AuthorizedKeys | readonly AuthorizedKeyInput[];
  /**
   * An existing `http`/`https` server to attach to (it must be listening, or listen later; its other
   * requests and upgrades at other paths are left alone). Without it, the listener makes its own
   * server on `host`/`port` (https when `tls` is given).
   */
  server?: http.Server | https.Server;
  /** Address to bind our own server. Default 127.0.0.1. */
  host?: string;
  /** Port of our own server; 0 picks a free one. Default 0. */
  port?: number;
  /** Certificate and key (PEM) for our own server: `wss://`. Default: plain `ws://`. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The path WebSocket requests must have. Default `/rxchan`. */
  path?: string;
  /**
   * The URLs clients dial (`ws://host:port/path`, `wss://name/path`): each connection binds the one
   * whose host and path match its request (a request matching none gets HTTP 421). Needed whenever
   * clients use a name, or come through a proxy. Default: `ws(s)://HOST:PORT/PATH` of the address
   * the server is bound to.
   */
  origins?: readonly string[];
  /**
   * A grant (signGrant) for our own key, shown in every handshake (SERVER_PROOF_GRANT) for clients
   * that require one, as a TLS listener's `grant` travels in its certificate (cluster members).
   */
  grant?: Uint8Array;
}

/** A WebSocket listener; `origins` are the URLs it answers to. */
export interface WebSocketListener extends Listener {
  readonly origins: readonly string[];
  /** The first origin: a URL to dial. */
  readonly url: string;
}

interface Pending {
  /** The raw socket until the upgrade, then the stream over the WebSocket. */
  socket: { destroy(): void };
  readonly key: string;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Starts a WebSocket listener. Only connections that finish the handshake and the prelude reach
 * `onConnection`. Rejects with TransportError INVALID_CONFIG (bad options, origins that cannot be
 * worked out) or the listen error (EADDRINUSE, ...).
 */
export async function listenWebSocket(
  options: WebSocketListenOptions,
  onConnection: (connection: Connection) => void,
): Promise<WebSocketListener> {
  const config = resolveConfig(options);
  const keys = toAuthorizedKeys(options.authorizedKeys, 'listenWebSocket');
  const signer = nodeSigner(options.identity);
  const grant = options.grant;
  if (grant !== undefined) {
    try {
      checkServerGrant(grant);
    } catch (err) {
      throw transportError('INVALID_CONFIG', `listenWebSocket: ${(err as Error).message}`, { cause: err });
    }
  }
  const path = options.path ?? '/rxchan';
  if (!path.startsWith('/'))
    throw transportError('INVALID_CONFIG', `listenWebSocket: path must start with /`);
  const own = options.server === undefined;
  const server: http.Server | https.Server =
    options.server ??
    (options.tls
      ? https.createServer({ cert: options.tls.cert, key: options.tls.key })
      : http.createServer());
  const secure = server instanceof https.Server;
  if (own) {
    // Requests that never upgrade must not hold sockets longer than a handshake may take.
    server.headersTimeout = Math.max(1000, config.handshakeTimeoutMs);
    server.requestTimeout = Math.max(1000, config.handshakeTimeoutMs);
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      res.end('rxchan: WebSocket only\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
  }
  const bound = server.address();
  const port = bound !== null && typeof bound === 'object' ? bound.port : (options.port ?? 0);
  const host = bound !== null && typeof bound === 'object' ? bound.address : (options.host ?? '127.0.0.1');
  let origins: string[];
  try {
    origins = (options.origins ?? [defaultOrigin(secure, host, port, path)]).map(canonicalOrigin);
  } catch (err) {
    if (own) server.close();
    throw transportError('INVALID_CONFIG', `listenWebSocket: bad origin: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (origins.length === 0) throw transportError('INVALID_CONFIG', 'listenWebSocket: origins is empty');
  /** host + path of each origin → the origin to bind. */
  const byHostPath = new Map(origins.map((o) => [hostPath(o), o]));

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxWebSocketMessage,
    perMessageDeflate: false,
    clientTracking: false,
  });
  const pending = new Set<Pending>();
  const established = new Set<Connection>();
  const handshakesFrom = new Counter();
  const connectionsFrom = new Counter();
  let accepting = 0;
  let closed = false;

  const refuse = (
    reason: RefusedReason,
    error: TransportError,
    remote: { address?: string; host?: string; port?: number },
    peer?: PeerIdentity,
  ) => reportRefused(options, reason, error, remote, peer);

  const onUpgrade = (req: http.IncomingMessage, raw: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== path) {
      // Another path: someone else's upgrade on an attached server; on our own, nobody's.
      if (own) httpRefuse(raw, 404, 'Not Found');
      return;
    }
    raw.on('error', () => undefined);
    const sock = req.socket;
    const remote = { address: remoteAddressOf(sock), host: sock.remoteAddress, port: sock.remotePort };
    const key = addressKey(sock.remoteAddress);
    if (closed || key === undefined) {
      raw.destroy();
      return;
    }
    const origin = byHostPath.get(`${(req.headers.host ?? '').toLowerCase()}${url.pathname}`);
    if (origin === undefined) {
      httpRefuse(raw, 421, 'Misdirected Request');
      const message = `request for ${req.headers.host ?? '(no host)'}${url.pathname} matches none of the listener's origins`;
      refuse('ORIGIN', transportError('UNAUTHENTICATED', message, { remoteCode: 'ORIGIN' }), remote);
      return;
    }
    const busy =
      config.maxHandshakes > 0 && pending.size >= config.maxHandshakes
        ? `server busy: at maxHandshakes (${config.maxHandshakes})`
        : config.maxHandshakesPerAddress > 0 && handshakesFrom.get(key) >= config.maxHandshakesPerAddress
          ? `server busy: at maxHandshakesPerAddress (${config.maxHandshakesPerAddress}) for ${key}`
          : undefined;
    if (busy !== undefined) {
      httpRefuse(raw, 503, 'Service Unavailable');
      refuse('HANDSHAKE_LIMIT', transportError('CONNECTION_LIMIT', busy), remote);
      return;
    }
    const hs: Pending = { socket: raw, key, timer: undefined };
    pending.add(hs);
    handshakesFrom.add(key);
    const finish = () => {
      if (!pending.delete(hs)) return false;
      clearTimeout(hs.timer);
      handshakesFrom.remove(key);
      return true;
    };
    const fail = (reason: RefusedReason, error: TransportError, peer?: PeerIdentity, lingering = false) => {
      if (!finish()) return;
      if (!lingering) hs.socket.destroy();
      refuse(reason, error, remote, peer);
    };
    if (config.handshakeTimeoutMs > 0) {
      hs.timer = setTimeout(
        () =>
          fail(
            'HANDSHAKE_TIMEOUT',
            transportError(
              'HANDSHAKE_TIMEOUT',
              `handshake not finished within ${config.handshakeTimeoutMs} ms`,
            ),
          ),
        config.handshakeTimeoutMs,
      );
    }
    wss.handleUpgrade(req, raw, head, (ws: WebSocket) => {
      if (!pending.has(hs)) {
        ws.terminate();
        return;
      }
      const socket = webSocketDuplex(ws);
      socket.on('error', () => undefined);
      hs.socket = socket;
      if (config.firstBytesTimeoutMs > 0) {
        const first = setTimeout(
          () =>
            fail(
              'HANDSHAKE_TIMEOUT',
              transportError(
                'HANDSHAKE_TIMEOUT',
                `client sent nothing within ${config.firstBytesTimeoutMs} ms (firstBytesTimeoutMs)`,
              ),
            ),
          config.firstBytesTimeoutMs,
        );
        first.unref();
        ws.once('message', () => clearTimeout(first));
        ws.once('close', () => clearTimeout(first));
      }
      handshake(socket, origin, remote.address).then(
        (connection) => {
          if (!finish()) {
            socket.destroy();
            return;
          }
          established.add(connection);
          socket.once('close', () => {
            established.delete(connection);
            connectionsFrom.remove(key);
          });
          try {
            onConnection(connection);
          } catch (err) {
            reportUnhandledError(err);
          }
        },
        (err: unknown) => {
          if (err instanceof Refused) fail(err.reason, err.error, err.peer, err.rejected);
          else {
            const error = isTransportError(err)
              ? err
              : transportError('INTERNAL_ERROR', String(err), { cause: err });
            fail(error.code === 'CONNECTION_LOST' ? 'CLOSED' : 'PRELUDE_FAILED', error);
          }
        },
      );
    });

    /** The handshake, the verdict, our limits, then the prelude; rejects with Refused or a TransportError. */
    async function handshake(
      socket: Duplex,
      origin: string,
      address: string | undefined,
    ): Promise<Connection> {
      const verdict = await inbandVerdict(socket, {
        signer,
        authorizedKeys: keys,
        origin,
        verify: nodeVerify,
        ...(grant !== undefined ? { grant } : {}),
      });
      if (!verdict.ok) {
        serverReject(socket, RejectReason[verdict.reason], verdict.message, config.rejectLingerMs);
        throw new Refused(
          verdict.reason,
          transportError('UNAUTHENTICATED', `rejected client (${verdict.reason}): ${verdict.message}`, {
            remoteCode: verdict.reason,
          }),
          verdict.peer,
          true,
        );
      }
      const full = connectionsFull(config, established.size + accepting, connectionsFrom, key!);
      if (full !== undefined) {
        serverReject(socket, RejectReason.OVERLOADED, full, config.rejectLingerMs);
        throw new Refused(
          'OVERLOADED',
          transportError('CONNECTION_LIMIT', `rejected client (OVERLOADED): ${full}`, {
            remoteCode: 'OVERLOADED',
          }),
          verdict.peer,
          true,
        );
      }
      accepting++;
      connectionsFrom.add(key!);
      try {
        const negotiated = await serverAccept(socket);
        if (socket.destroyed) throw transportError('CONNECTION_LOST', 'client left');
        return {
          socket,
          role: 'server',
          peer: verdict.peer,
          version: negotiated.version,
          codec: negotiated.codec,
          resumed: false,
          remoteAddress: address,
        };
      } catch (err) {
        connectionsFrom.remove(key!);
        throw err;
      } finally {
        accepting--;
      }
    }
  };
  server.on('upgrade', onUpgrade);

  return {
    port,
    host,
    origins,
    url: origins[0]!,
    get handshakes() {
      return pending.size;
    },
    get connections() {
      return established.size;
    },
    async close(closeOptions) {
      closed = true;
      server.off('upgrade', onUpgrade);
      for (const hs of [...pending]) {
        pending.delete(hs);
        clearTimeout(hs.timer);
        hs.socket.destroy();
      }
      if (closeOptions?.destroyConnections) for (const c of [...established]) c.socket.destroy();
      wss.close();
      if (own) {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        if (closeOptions?.destroyConnections) {
          server.closeAllConnections();
          await done;
        }
      }
    },
  };
}

/** A refusal after the handshake started, with what onRefused reports. */
class Refused extends Error {
  constructor(
    readonly reason: RefusedReason,
    readonly error: TransportError,
    readonly peer: PeerIdentity | undefined,
    readonly rejected: boolean,
  ) {
    super(error.message);
  }
}

/** Answers an upgrade request with a plain HTTP status and closes. */
function httpRefuse(raw: Duplex, status: number, text: string): void {
  raw.on('error', () => undefined);
  if (raw.writable) raw.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => raw.destroy(), 1000).unref();
}

function defaultOrigin(secure: boolean, host: string, port: number, path: string): string {
  if (host === '0.0.0.0' || host === '::') {
    throw new Error(`listening on ${host} (every address): say which URLs clients dial in origins`);
  }
  const h = host.includes(':') ? `[${host}]` : host;
  return `${secure ? 'wss' : 'ws'}://${h}:${port}${path}`;
}

/** `host[:port]/path` of a canonical origin: what a request's Host header and path must equal. */
function hostPath(origin: string): string {
  const u = new URL(origin);
  return `${u.host}${u.pathname}`;
}
