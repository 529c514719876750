/**
 * rxchan: the public surface. Everything a program needs is re-exported here, explicitly; any other
 * module path is internal and may change.
 *
 * - Actors (`ActorSystem`, `@actor`, `@method`, `Ref`, `RpcError`): the layer most programs use.
 * - Auth (`Identity`, `AuthorizedKeys`, `KnownHosts`, grants): who a node is and whom it trusts.
 * - Transport (`listenTls`/`dialTls`, `ChannelSession`, `Sender`, `Receiver`, the multiplexer): for
 *   programs that want libchan-style channels without actors.
 *
 * `import 'reflect-metadata'` must come before this module in a program that uses the decorators;
 * it is imported here too, so importing `rxchan` first is enough.
 */
import 'reflect-metadata';

export {
  type ActorClass,
  type ActorLifecycle,
  type ActorOptions,
  ActorSystem,
  type ActorSystemOptions,
  type ActorsConfig,
  actor,
  Call,
  type CallContext,
  type CallCounts,
  type CallEnd,
  type CallEndListener,
  type Caller,
  type CallMetadata,
  type CallOptions,
  type ClientInterceptor,
  type CloseOnSignalsOptions,
  callContext,
  closeOnSignals,
  type DeclaredKind,
  defaultConfig as defaultActorsConfig,
  defaultRestartOptions,
  type EndCode,
  type ErrorInfo,
  type ErrorMapper,
  type HostPeer,
  type IncomingCall,
  type Interceptors,
  isRef,
  isRpcError,
  type ListenOptions,
  type MethodKind,
  type MethodOptions,
  method,
  type OutgoingCall,
  type OverflowPolicy,
  openTelemetry,
  type Peer,
  type PingReply,
  type PortPeer,
  REFLECTION_ACTOR,
  type Ref,
  type RefControls,
  type ReflectedActor,
  type ReflectedMethod,
  type Reflection,
  type RemoteCall,
  type RemoteCallback,
  type RemoteMethods,
  type RemoteResult,
  type RemoteStream,
  type RestartOptions,
  type RestartPolicy,
  RpcError,
  RpcErrorCode,
  type RpcErrorOptions,
  rpcError,
  type ServePortOptions,
  type ServerInterceptor,
  type SystemStats,
  type Telemetry,
  type TelemetryOptions,
  toRpcError,
  type UrlPeer,
  type ValidationIssue,
  verifyConfig as verifyActorsConfig,
  type WebSocketListen,
} from './actors/index.js';
export {
  AuthError,
  AuthErrorCode,
  AuthorizedKeys,
  authError,
  checkGrant,
  type Grant,
  Identity,
  isAuthError,
  KnownHosts,
  type PeerIdentity,
  signGrant,
} from './auth/index.js';
export * from './transport/index.js';
