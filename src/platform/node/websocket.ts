/** WebSocket listening and dialling, which an ActorSystem uses for `websocket` listeners and `url` peers: on Node, the `ws` package's (the connection layer's). */
export { dialWebSocket, listenWebSocket } from '../../transport/connection/index.js';
