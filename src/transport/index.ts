/**
 * The transport layer's public surface: connections (TLS, TCP, memory), the multiplexer, channels, and
 * their errors. Explicit re-exports only (the multiplexer's `Stream` is `MuxStream` here, apart from the
 * actor layer's `Stream`); wire codecs stay in each layer's own index (for specs and benchmarks). Each layer's config helpers are renamed here so they can live side by side.
 */

// --- channels
export {
  type ChannelConfig,
  ChannelSession,
  defaultConfig as defaultChannelConfig,
  Receiver,
  Sender,
  verifyConfig as verifyChannelConfig,
} from './channel/index.js';

// --- connections
export {
  acceptInband,
  acceptPort,
  acceptPortInsecure,
  type Connection,
  type ConnectionConfig,
  Credentials,
  canonicalOrigin,
  defaultConfig as defaultConnectionConfig,
  defaultSessionStore,
  dialInband,
  dialPort,
  dialPortInsecure,
  dialTcp,
  dialTls,
  dialWebSocket,
  duplexPair,
  type Ed25519Signer,
  type InbandAcceptOptions,
  type InbandDialOptions,
  type Listener,
  type ListenHooks,
  listenTcp,
  listenTls,
  listenWebSocket,
  memoryConnectionPair,
  type PortAcceptOptions,
  type PortDialOptions,
  type PortLike,
  type PortOptions,
  type RefusedEvent,
  type RefusedReason,
  rejectionError,
  ServerRefusal,
  SessionStore,
  type SigningIdentity,
  type StoredSession,
  type TcpDialOptions,
  type TcpListenOptions,
  type TlsDialOptions,
  type TlsListenOptions,
  verifyConfig as verifyConnectionConfig,
  type WebSocketDialOptions,
  type WebSocketListener,
  type WebSocketListenOptions,
  WS_MAX_SEND_MESSAGE,
} from './connection/index.js';
// --- errors
export { isTransportError, TransportError, TransportErrorCode, transportError } from './errors.js';
// --- multiplexer
export {
  defaultConfig as defaultMuxConfig,
  type MuxConfig,
  type Role,
  Session,
  Stream as MuxStream,
  type StreamListener,
  StreamState,
  toDuplex,
  verifyConfig as verifyMuxConfig,
} from './mux/index.js';
