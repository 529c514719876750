/**
 * WebSocket listening and dialling, in a browser. A page cannot listen; dialling a `ws://` or `wss://`
 * URL from a browser is not built yet. Same surface as src/platform/node/websocket.ts; both functions
 * reject with TransportError INVALID_CONFIG.
 */
import type {
  Connection,
  WebSocketDialOptions,
  WebSocketListener,
  WebSocketListenOptions,
} from '../../transport/connection/index.js';
import { transportError } from '../../transport/errors.js';

export function dialWebSocket(_options: WebSocketDialOptions): Promise<Connection> {
  return Promise.reject(
    transportError('INVALID_CONFIG', 'dialling a WebSocket from a browser is not built yet'),
  );
}

export function listenWebSocket(
  _options: WebSocketListenOptions,
  _onConnection: (c: Connection) => void,
): Promise<WebSocketListener> {
  return Promise.reject(transportError('INVALID_CONFIG', 'an ActorSystem cannot listen in a browser'));
}
