/** TLS 1.3 listening and dialling, which an ActorSystem uses by default: on Node, the connection layer's. */
export { dialTls, listenTls } from '../../transport/connection/index.js';
