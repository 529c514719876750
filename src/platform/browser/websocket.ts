/**
 * WebSocket dialling, in a browser: the page's WebSocket (over the browser's TLS for `wss://`), then the
 * in-band key handshake pinning the server's key and proving ours, then the prelude. A page cannot
 * listen. Same surface as src/platform/node/websocket.ts.
 */
import { webPeerIdentity } from '../../auth/web-peer.js';
import type { ConnectionConfig } from '../../transport/connection/config.js';
import type { Connection } from '../../transport/connection/connection.js';
import { inbandClient } from '../../transport/connection/inband-client.js';
import type {
  WebSocketDialOptions,
  WebSocketListener,
  WebSocketListenOptions,
} from '../../transport/connection/index.js';
import { webSocketDialTarget } from '../../transport/connection/websocket-target.js';
import { type TransportError, transportError } from '../../transport/errors.js';
import { WebSocketBytes } from './web-socket-bytes.js';

/**
 * Connects and authenticates. Resolves after the server's ACCEPT. Rejects with TransportError:
 * - INVALID_CONFIG: not a ws:// or wss:// URL, a bad pin or grant, `ca` or `headers` given (a page
 *   sets neither: the browser checks certificates against its own trust store);
 * - CONNECTION_LOST: the WebSocket did not open (refused, TLS failed, the upgrade was refused: a
 *   browser does not say which) or closed during the handshake;
 * - otherwise as the in-band client: UNAUTHENTICATED (`remoteCode` SERVER_KEY_MISMATCH,
 *   SERVER_BAD_SIGNATURE, or the REJECT reason: UNKNOWN_KEY, ...), CONNECTION_LIMIT,
 *   HANDSHAKE_FAILED, HANDSHAKE_TIMEOUT (the whole dial is bounded by `handshakeTimeoutMs`).
 */
export function dialWebSocket(options: WebSocketDialOptions): Promise<Connection> {
  let config: ConnectionConfig;
  let origin: string;
  try {
    ({ config, origin } = webSocketDialTarget(options, () => {
      if (options.ca !== undefined || options.headers !== undefined)
        throw new Error('a browser takes neither `ca` nor `headers`');
    }));
  } catch (err) {
    return Promise.reject(err);
  }
  const started = Date.now();
  return open(options.url, origin, config.handshakeTimeoutMs).then((socket) => {
    const left =
      config.handshakeTimeoutMs > 0 ? Math.max(1, config.handshakeTimeoutMs - (Date.now() - started)) : 0;
    return inbandClient(
      socket,
      {
        signer: options.identity,
        serverKey: options.serverKey,
        origin,
        timeoutMs: left,
        ...(options.grant !== undefined ? { grant: options.grant } : {}),
        ...(options.serverGrant ? { serverGrant: options.serverGrant } : {}),
      },
      (key) => webPeerIdentity(key),
    ).then(
      (result): Connection => ({
        // Connection.socket is typed as a Node Duplex for Node programs; the session reads it only as a
        // ByteSocket, which is all this is.
        socket: socket as unknown as Connection['socket'],
        role: 'client',
        peer: result.server,
        version: result.version,
        codec: result.codec,
        resumed: false,
        remoteAddress: undefined,
      }),
    );
  });
}

export function listenWebSocket(
  _options: WebSocketListenOptions,
  _onConnection: (c: Connection) => void,
): Promise<WebSocketListener> {
  return Promise.reject(transportError('INVALID_CONFIG', 'an ActorSystem cannot listen in a browser'));
}

/** The open WebSocket as a byte socket; rejects CONNECTION_LOST, or HANDSHAKE_TIMEOUT after `timeoutMs` (0: none). */
function open(url: string, origin: string, timeoutMs: number): Promise<WebSocketBytes> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      reject(
        transportError('INVALID_CONFIG', `dialWebSocket: ${url}: ${(err as Error).message}`, { cause: err }),
      );
      return;
    }
    ws.binaryType = 'arraybuffer';
    let settled = false;
    const settle = (error: TransportError | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeEventListener('open', onOpen);
      ws.removeEventListener('close', onClose);
      if (error === undefined) {
        resolve(new WebSocketBytes(ws));
        return;
      }
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close();
      reject(error);
    };
    const onOpen = () => settle(undefined);
    const onClose = (event: { code: number }) =>
      settle(
        transportError(
          'CONNECTION_LOST',
          `the WebSocket to ${origin} did not open (code ${event.code}): refused, TLS failed, or the upgrade was refused (the browser does not say which; its console may)`,
        ),
      );
    const timer =
      timeoutMs > 0
        ? setTimeout(
            () =>
              settle(
                transportError(
                  'HANDSHAKE_TIMEOUT',
                  `the WebSocket to ${origin} did not open within ${timeoutMs} ms`,
                ),
              ),
            timeoutMs,
          )
        : undefined;
    ws.addEventListener('open', onOpen);
    ws.addEventListener('close', onClose);
  });
}
