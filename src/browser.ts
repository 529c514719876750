/**
 * rxchan for browsers (`rxchan/browser`): the actor layer's client side, with no Node built-ins.
 *
 * What differs from `rxchan`:
 * - no TLS, TCP or listeners, no files (authorized keys, identities on disk), no CLI: an ActorSystem
 *   here dials `{ url, key }` peers over WebSocket (`wss://`) with a {@link BrowserIdentity} (the in-band
 *   key handshake), or through its `dial` option (a `Connection` over a {@link ByteSocket}); it cannot
 *   `listen()` (it rejects INVALID_CONFIG), but serves the refs and callbacks it passes to a peer;
 * - `callContext()` sees the call only synchronously: in a handler or callback up to its first `await`
 *   (there is no AsyncLocalStorage in a browser); calls made after an await do not inherit the deadline
 *   or the cancellation (read `callContext().signal` first and pass it on);
 * - byte streams are Web streams: a `ReadableStream<Uint8Array>` or a `Blob` passed or returned travels as
 *   bytes (a `WritableStream<Uint8Array>` as a sink), and a byte stream received arrives as a
 *   `ReadableStream<Uint8Array>` (or `WritableStream`), on the same wire as Node's Readable/Writable.
 *
 * `reflect-metadata` is imported here, so the decorators work.
 */
import 'reflect-metadata';

export { ACTOR_NAME, type ActorClass, type ActorLifecycle } from './actors/callee/cell.js';
export { Call } from './actors/caller/call.js';
export type { Peer, PortPeer, UrlPeer } from './actors/caller/client.js';
export { isRef } from './actors/caller/ref.js';
export {
  type ActorsConfig,
  defaultConfig as defaultActorsConfig,
  type OverflowPolicy,
} from './actors/config.js';
export { type CallContext, type Caller, type CallMetadata, callContext } from './actors/context.js';
export type { CallCounts, EndCode } from './actors/counters.js';
export { type ActorOptions, actor, type MethodOptions, method } from './actors/decorators.js';
export type { ErrorInfo, ErrorMapper } from './actors/error-policy.js';
export {
  isRpcError,
  RpcError,
  RpcErrorCode,
  type RpcErrorOptions,
  rpcError,
  toRpcError,
} from './actors/errors.js';
export type {
  CallEnd,
  CallEndListener,
  ClientInterceptor,
  IncomingCall,
  Interceptors,
  OutgoingCall,
  ServerInterceptor,
} from './actors/interceptors.js';
export type { ServePortOptions } from './actors/port-peer.js';
export { ActorSystem, type ActorSystemOptions, type SystemStats } from './actors/system.js';
export type {
  CallOptions,
  Ref,
  RefControls,
  RemoteCall,
  RemoteCallback,
  RemoteMethods,
  RemoteResult,
  RemoteStream,
} from './actors/types.js';
export {
  BrowserIdentity,
  type BrowserIdentityOptions,
  type BrowserKeyKind,
} from './auth/browser-identity.js';
export { dialWebSocket } from './platform/browser/websocket.js';
export type { Connection } from './transport/connection/connection.js';
export type { Ed25519Signer, SigningIdentity } from './transport/connection/inband-common.js';
export type { PortLike } from './transport/connection/port-link.js';
export { socketConnection, socketConnectionPair, socketPair } from './transport/connection/socket-pair.js';
export type { WebSocketDialOptions } from './transport/connection/ws-dial.js';
export { isTransportError, TransportError, TransportErrorCode, transportError } from './transport/errors.js';
export type { MuxConfig } from './transport/mux/config.js';
export type { ByteSocket } from './transport/mux/socket.js';
