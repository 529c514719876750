/**
 * Connections: byte streams between two nodes, established and authenticated, after the prelude
 * (docs/PROTOCOL.md sections 1 and 2). TLS 1.3 (mutual, the default), MessagePorts (between threads),
 * plain TCP and in-memory pairs (tests only). The only public surface of `src/transport/connection`.
 */
export { type ConnectionConfig, defaultConfig, verifyConfig } from './config.js';
export type { Connection, Listener, ListenHooks, RefusedEvent, RefusedReason } from './connection.js';
export { Credentials } from './credentials.js';
export {
  acceptInband,
  dialInband,
  type Ed25519Signer,
  type Ed25519Verify,
  type InbandAcceptOptions,
  type InbandDialOptions,
  type SigningIdentity,
} from './inband.js';
export { canonicalOrigin } from './inband-codec.js';
export { duplexPair, memoryConnectionPair } from './memory.js';
export { PortDuplex } from './message-port.js';
export {
  acceptPort,
  acceptPortInsecure,
  dialPort,
  dialPortInsecure,
  PORT_ORIGIN,
  type PortAcceptOptions,
  type PortDialOptions,
  type PortOptions,
} from './port-connection.js';
export { MIN_PORT_WINDOW, type PortLike, PortLink, type PortLinkEvents } from './port-link.js';
export { PortSocket } from './port-socket.js';
export {
  Codec,
  decodePrelude,
  encodeAccept,
  encodeHello,
  encodeReject,
  type Hello,
  MAX_PROTOCOL_VERSION,
  MAX_REJECT_MESSAGE,
  MIN_PROTOCOL_VERSION,
  negotiate,
  OUR_HELLO,
  PRELUDE_HEADER_LENGTH,
  PRELUDE_MAGIC,
  type PreludeFrame,
  PreludeKind,
  preludeFrameLength,
  RejectReason,
  type RejectReasonName,
  rejectReasonName,
} from './prelude.js';
export { rejectionError } from './prelude-exchange.js';
export { ServerRefusal } from './server-trust.js';
export { defaultSessionStore, SessionStore, type StoredSession } from './session-store.js';
export { dialTcp, listenTcp, type TcpDialOptions, type TcpListenOptions } from './tcp.js';
export { dialTls, type TlsDialOptions } from './tls-dial.js';
export { listenTls, type TlsListenOptions } from './tls-listen.js';
export { dialWebSocket, type WebSocketDialOptions } from './ws-dial.js';
export { WS_MAX_SEND_MESSAGE } from './ws-duplex.js';
export { listenWebSocket, type WebSocketListener, type WebSocketListenOptions } from './ws-listen.js';
