/**
 * dialWebSocket: a Node client of a WebSocket listener (ws-listen.ts), by URL: the WebSocket upgrade
 * (over TLS for `wss://`, checked against the system's CAs or `ca`), then the in-band key handshake
 * pinning the server's key, then the prelude.
 */
import { WebSocket } from 'ws';
import { type TransportError, transportError } from '../errors.js';
import type { ConnectionConfig } from './config.js';
import { type Connection, remoteAddressOf } from './connection.js';
import { dialInband, type Ed25519Signer } from './inband.js';
import { nodeSigner, nodeVerify } from './node-signer.js';
import { webSocketDialTarget } from './websocket-target.js';
import { webSocketDuplex } from './ws-duplex.js';

export interface WebSocketDialOptions extends Partial<ConnectionConfig> {
  /** Our key (an Identity): the in-band handshake proves it. */
  identity: Ed25519Signer;
  /** `ws://host:port/path` or `wss://...`: where to connect, and the origin the handshake binds. */
  url: string;
  /** The server key we pin (32 bytes or base64url text). */
  serverKey: string | Uint8Array;
  /** A grant (signGrant) for servers that trust its admin: base64url text or the bytes. */
  grant?: string | Uint8Array;
  /**
   * Require the server to show a grant in its handshake proof (as TLS's `serverGrant`): called with it
   * (undefined for none) and the server's key once its signature verified; a problem (text) refuses
   * it, UNAUTHENTICATED `remoteCode` SERVER_NO_GRANT, before we sign or send anything more. Must not throw.
   */
  serverGrant?: (grant: Uint8Array | undefined, serverKey: Uint8Array) => string | undefined;
  /**
   * `wss://`: certificate authorities to trust instead of the system's (PEM), e.g. a test's
   * self-signed certificate. The TLS server name is always checked.
   */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Extra HTTP headers on the upgrade request (a proxy's authorization, ...). */
  headers?: Record<string, string>;
}

/**
 * Connects and authenticates. Resolves after the server's ACCEPT. Rejects with TransportError:
 * - INVALID_CONFIG: not a ws:// or wss:// URL, a bad pin or grant;
 * - CONNECTION_LIMIT, `remoteCode` OVERLOADED: the server is at a limit (HTTP 503, or REJECT OVERLOADED);
 * - UNAUTHENTICATED: as {@link dialInband}, and `remoteCode` ORIGIN when the server answers HTTP 421
 *   (it does not answer to this URL's host and path);
 * - HANDSHAKE_FAILED: the upgrade was refused otherwise (an HTTP status), TLS failed, or the
 *   handshake was malformed; HANDSHAKE_TIMEOUT; CONNECTION_LOST (refused, reset, closed).
 */
export function dialWebSocket(options: WebSocketDialOptions): Promise<Connection> {
  let config: ConnectionConfig;
  let origin: string;
  try {
    ({ config, origin } = webSocketDialTarget(options));
  } catch (err) {
    return Promise.reject(err);
  }
  const started = Date.now();
  return new Promise<Connection>((resolve, reject) => {
    let settled = false;
    let remoteAddress: string | undefined;
    const ws = new WebSocket(options.url, {
      maxPayload: config.maxWebSocketMessage,
      perMessageDeflate: false,
      followRedirects: false,
      ...(config.handshakeTimeoutMs > 0 ? { handshakeTimeout: config.handshakeTimeoutMs } : {}),
      ...(options.ca !== undefined ? { ca: options.ca as string | Buffer | (string | Buffer)[] } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
    const fail = (error: TransportError) => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(error);
    };
    ws.on('upgrade', (res) => {
      remoteAddress = remoteAddressOf(res.socket);
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      fail(upgradeRefused(status, origin));
    });
    const onEarlyError = (err: NodeJS.ErrnoException) => fail(socketError(err, origin));
    ws.on('error', onEarlyError);
    ws.once('close', () =>
      fail(transportError('CONNECTION_LOST', `${origin} closed before the WebSocket opened`)),
    );
    ws.once('open', () => {
      if (settled) return;
      ws.off('error', onEarlyError);
      ws.removeAllListeners('close');
      ws.on('error', () => undefined);
      const left =
        config.handshakeTimeoutMs > 0 ? Math.max(1, config.handshakeTimeoutMs - (Date.now() - started)) : 0;
      dialInband(webSocketDuplex(ws), {
        signer: nodeSigner(options.identity),
        verify: nodeVerify,
        serverKey: options.serverKey,
        origin,
        timeoutMs: left,
        ...(options.grant !== undefined ? { grant: options.grant } : {}),
        ...(options.serverGrant ? { serverGrant: options.serverGrant } : {}),
        ...(remoteAddress !== undefined ? { remoteAddress } : {}),
      }).then(
        (connection) => {
          settled = true;
          resolve(connection);
        },
        (err: TransportError) => fail(err),
      );
    });
  });
}

function upgradeRefused(status: number, origin: string): TransportError {
  if (status === 503) {
    return transportError(
      'CONNECTION_LIMIT',
      `server busy: ${origin} refused the upgrade (HTTP 503; try later)`,
      {
        remoteCode: 'OVERLOADED',
      },
    );
  }
  if (status === 421) {
    return transportError(
      'UNAUTHENTICATED',
      `${origin}: the server does not answer to this origin (HTTP 421): it must list it in its origins`,
      { remoteCode: 'ORIGIN' },
    );
  }
  return transportError('HANDSHAKE_FAILED', `${origin} refused the WebSocket upgrade (HTTP ${status})`, {
    remoteCode: `HTTP_${status}`,
  });
}

function socketError(err: NodeJS.ErrnoException, origin: string): TransportError {
  const code = err.code ?? '';
  if (/timeout/i.test(err.message) && code === '') {
    return transportError('HANDSHAKE_TIMEOUT', `WebSocket upgrade to ${origin} not finished in time`, {
      cause: err,
    });
  }
  if (
    code.startsWith('ERR_SSL') ||
    code.startsWith('ERR_TLS') ||
    code.includes('CERT') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
  ) {
    return transportError('HANDSHAKE_FAILED', `TLS with ${origin} failed: ${err.message.split('\n')[0]}`, {
      cause: err,
    });
  }
  return transportError('CONNECTION_LOST', `connection to ${origin} failed: ${code || err.message}`, {
    cause: err,
  });
}
