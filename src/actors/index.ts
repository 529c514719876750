/**
 * Actors: the only public surface of `src/actors`.
 *
 * An {@link ActorSystem} is a node: it hosts actor classes (resolved by tsyringe, one child container
 * each), listens and dials with its identity, and hands out typed {@link Ref}s — local or remote, with
 * the same API. Each actor has a mailbox and handles one message at a time, in order (unless it
 * declares a `concurrency`). Calls fail with an {@link RpcError} carrying a stable code.
 *
 * `import 'reflect-metadata'` must come first in a program that uses the decorators.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { interval, map, take } from 'rxjs';
 * import { ActorSystem, actor, callContext, method } from 'rxchan';
 *
 * @actor('calculator')
 * class Calculator {
 *   add(a: number, b: number): number {
 *     return a + b;
 *   }
 *   @method({ overflow: 'drop-oldest' })
 *   ticks(count: number) {
 *     const { method } = callContext();
 *     return interval(10).pipe(take(count), map((i) => `${method} ${i}`));
 *   }
 * }
 *
 * const system = new ActorSystem();
 * await system.register(Calculator);
 * const calc = system.ref<Calculator>('calculator');
 * console.log(await calc.add(1, 2));
 * calc.ticks(2).subscribe((t) => console.log(t));
 * // Logs:
 * // 3
 * // ticks 0
 * // ticks 1
 * ```
 */

export { ACTOR_KEY, ACTOR_STATE, type ActorState } from './callee/actor-state.js';
export { ACTOR_NAME, type ActorClass, type ActorLifecycle } from './callee/cell.js';
export type { MethodKind } from './callee/method-kind.js';
export {
  type PingReply,
  REFLECTION_ACTOR,
  type ReflectedActor,
  type ReflectedMethod,
  type Reflection,
} from './callee/reflection.js';
export {
  defaultRestartOptions,
  type RestartOptions,
  type RestartPolicy,
} from './callee/supervisor.js';
export type { ValidationIssue } from './callee/validation.js';
export { Call } from './caller/call.js';
export type { HostPeer, Peer, PortPeer, UrlPeer } from './caller/client.js';
export { MAX_IDEMPOTENT_ATTEMPTS, MAX_KEYED_HOPS } from './caller/cluster-call.js';
export { OWNER_CACHE_SIZE } from './caller/owner-cache.js';
export { isRef } from './caller/ref.js';
export { type CloseOnSignalsOptions, closeOnSignals } from './close-on-signals.js';
export { type ActorsConfig, defaultConfig, type OverflowPolicy, verifyConfig } from './config.js';
export { type CallContext, type Caller, type CallMetadata, callContext } from './context.js';
export type { CallCounts, EndCode } from './counters.js';
export { type ActorOptions, actor, type DeclaredKind, type MethodOptions, method } from './decorators.js';
export type { ErrorInfo, ErrorMapper } from './error-policy.js';
export {
  isRpcError,
  RpcError,
  RpcErrorCode,
  type RpcErrorOptions,
  rpcError,
  toRpcError,
} from './errors.js';
export type {
  CallEnd,
  CallEndListener,
  ClientInterceptor,
  IncomingCall,
  Interceptors,
  OutgoingCall,
  ServerInterceptor,
} from './interceptors.js';
export type { ServePortOptions } from './port-peer.js';
export {
  ActorSystem,
  type ActorSystemOptions,
  type ClusterOptions,
  type ClusterRefOptions,
  DEFAULT_LOAD_INTERVAL_MS,
  type KeyedRefOptions,
  type ListenOptions,
  type SystemStats,
  type WebSocketListen,
} from './system.js';
export { openTelemetry, type Telemetry, type TelemetryOptions } from './telemetry/open-telemetry.js';
export type {
  CallOptions,
  Ref,
  RefControls,
  RemoteCall,
  RemoteCallback,
  RemoteMethods,
  RemoteResult,
  RemoteStream,
} from './types.js';
