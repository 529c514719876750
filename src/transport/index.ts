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
  acceptPortInsecure,
  type Connection,
  type ConnectionConfig,
  Credentials,
  defaultConfig as defaultConnectionConfig,
  defaultSessionStore,
  dialPortInsecure,
  dialTcp,
  dialTls,
  duplexPair,
  type Listener,
  type ListenHooks,
  listenTcp,
  listenTls,
  memoryConnectionPair,
  type PortLike,
  type PortOptions,
  type RefusedEvent,
  type RefusedReason,
  rejectionError,
  ServerRefusal,
  SessionStore,
  type StoredSession,
  type TcpDialOptions,
  type TcpListenOptions,
  type TlsDialOptions,
  type TlsListenOptions,
  verifyConfig as verifyConnectionConfig,
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
