/**
 * The context of one call, as a handler sees it, and the scope that owns its deadline and cancellation.
 *
 * A handler reads its context with {@link callContext}, from anywhere in the code it runs, across awaits
 * (AsyncLocalStorage; in a browser only up to the handler's first await, see src/platform): the arguments a peer sends are the method's arguments and nothing else, so no
 * peer can put a context of its own where the handler looks for one.
 *
 * ```ts
 * @actor('bank')
 * class Bank {
 *   async transfer(amount: number): Promise<string> {
 *     const { caller, signal } = callContext();
 *     await setTimeout(10, undefined, { signal }); // rejects when the call is cancelled
 *     return `${caller.name} moved ${amount}`;
 *   }
 * }
 * ```
 *
 * Calls that a handler makes (through remote or local refs, or callbacks) inherit its remaining deadline
 * and its cancellation, unless they ask to be `detached` (see CallOptions).
 */
import { ScopeStorage } from '#platform/scope-storage.js';
import { runServerChain } from './chain.js';
import { isRpcError, type RpcError, rpcError } from './errors.js';
import type { CallEnd, CallEndListener, ServerInterceptor } from './interceptors.js';
import type { AbortListener } from './pump.js';

/** Who made a call. */
export interface Caller {
  /** The caller's key id (base64url of its ed25519 public key); undefined on an insecure connection. */
  readonly id: string | undefined;
  /** The caller's ed25519 public key (32 bytes); undefined on an insecure connection. */
  readonly publicKey: Uint8Array | undefined;
  /** The caller's name in this node's authorized-keys list, if it has one. */
  readonly name: string | undefined;
  /** True for a call made in this process through a local ref (it was not authorized: it is trusted). */
  readonly local: boolean;
}

/** Metadata a call carries (the CALL record's `h`): string keys and string values. */
export type CallMetadata = Readonly<Record<string, string>>;

/** What a handler learns about the call it serves. */
export interface CallContext {
  /** Who called: from the connection's verified identity, never from anything the peer sent. */
  readonly caller: Caller;
  /** The actor's name ('' when the target is a callback passed as an argument). */
  readonly actor: string;
  /** The method called ('' for a callback). */
  readonly method: string;
  /**
   * Aborts when the deadline passes (reason: RpcError DEADLINE_EXCEEDED), when the caller cancels or
   * unsubscribes (CANCELLED), or when the connection is lost (UNAVAILABLE). A caller's cancel that
   * arrives within {@link DEADLINE_SKEW_MS} of the deadline is the caller's own timer: DEADLINE_EXCEEDED
   * too. Hand it to anything that takes a signal. Made on first read.
   */
  readonly signal: AbortSignal;
  /** When the call's deadline passes, in `Date.now()` ms of this node's clock; undefined: no deadline. */
  readonly deadline: number | undefined;
  /** The metadata the caller sent (empty when none). Data from the peer: validate before trusting it. */
  readonly metadata: CallMetadata;
  /** The key of the keyed actor's activation the call runs on (the CALL record's `k`); undefined: an unkeyed actor. */
  readonly key: string | undefined;
}

/** The caller of calls made through local refs. */
export const LOCAL_CALLER: Caller = Object.freeze({
  id: undefined,
  publicKey: undefined,
  name: undefined,
  local: true,
});

const NO_METADATA: CallMetadata = Object.freeze({});

/** The Caller for a peer identity of a connection (undefined on insecure connections). */
export function callerOf(
  peer: { id: string; publicKey: Uint8Array; name?: string | undefined } | undefined,
): Caller {
  if (peer === undefined) return { id: undefined, publicKey: undefined, name: undefined, local: false };
  return Object.freeze({ id: peer.id, publicKey: peer.publicKey, name: peer.name, local: false });
}

/**
 * A cancel that reaches the callee this close to the call's deadline (or after it) is the caller's
 * deadline, not a user's cancel, ms: the caller's timer fires first (the callee armed its own when the
 * call arrived, a little later), and its cancel races the callee's timer. Capped at half the call's
 * timeout, so a short call cancelled early is still CANCELLED. The caller always sees DEADLINE_EXCEEDED;
 * this only decides what the handler's `signal.reason` says.
 */
export const DEADLINE_SKEW_MS = 50;

/**
 * Owns one call's deadline timer and cancellation. The first of {@link abort}, {@link cancel}, the
 * deadline, or {@link dispose} wins; later ones do nothing. `onAbort` runs once, with the reason, when
 * it aborts.
 *
 * Cheap on the hot path: the AbortController behind `signal` is created only when something reads it;
 * 'abort' listeners ({@link addEventListener}) need none, so a stream pump or a child call listens
 * without one. A signal first read after the abort is already aborted, with the same reason.
 */
export class CallScope {
  /** Aborted by its own deadline timer (not by a cancel or a lost connection). */
  expired = false;
  /** The key of a call to a keyed actor (see CallContext.key); undefined: none. */
  key: string | undefined = undefined;
  /** When the deadline passes (Date.now() ms); undefined: none. */
  deadline: number | undefined;
  /** Made on first read: a handler that never asks for its context costs no object. */
  private ctx: ScopeContext | undefined;
  private controller: AbortController | undefined;
  /** 'abort' listeners added directly (see {@link addEventListener}); usually none or one. */
  private listeners: AbortListener | AbortListener[] | undefined;
  private why: RpcError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  /** What a call with interceptors keeps (see {@link intercept}): one field for a call without. */
  private interception: Interception | undefined = undefined;

  /**
   * `timeoutMs` of 0 or undefined: no deadline of its own. `deadline` (absolute ms), when given, is used
   * instead of `timeoutMs` to compute the deadline (a call that inherited one).
   */
  constructor(
    private readonly caller: Caller,
    protected readonly actor: string,
    protected readonly method: string,
    private readonly timeoutMs: number | undefined,
    private readonly metadata: CallMetadata = NO_METADATA,
    private readonly onAbort?: (reason: RpcError) => void,
  ) {
    this.deadline = timeoutMs ? Date.now() + timeoutMs : undefined;
    if (timeoutMs) this.timer = setTimeout(expire, timeoutMs, this);
  }

  /**
   * Run the handler through `interceptors` (none: the handler alone). Called by whoever made the scope,
   * when the call arrives: `receivedAt` is now.
   */
  intercept(interceptors: readonly ServerInterceptor[]): void {
    if (interceptors.length === 0) return;
    this.interception = { interceptors, receivedAt: performance.now(), listeners: undefined, told: false };
  }

  /** The server interceptors its handler runs through; undefined: none. */
  get interceptors(): readonly ServerInterceptor[] | undefined {
    return this.interception?.interceptors;
  }

  /** When the call arrived (`performance.now()` ms), for interceptors; 0 without them. */
  get receivedAt(): number {
    return this.interception?.receivedAt ?? 0;
  }

  /** Hear how the call ends (IncomingCall.onEnd). A listener added after the end is not called. */
  onEnd(listener: CallEndListener): void {
    this.interception ??= { interceptors: [], receivedAt: 0, listeners: undefined, told: false };
    const i = this.interception;
    if (i.told) return;
    if (i.listeners === undefined) i.listeners = [listener];
    else i.listeners.push(listener);
  }

  /**
   * The call ended with `end`: tell the `onEnd` listeners (once; later calls do nothing). A listener
   * that throws is passed to `report` and the others still run.
   */
  ended(end: CallEnd, report: (err: unknown) => void): void {
    const i = this.interception;
    if (i === undefined || i.listeners === undefined) return;
    const listeners = i.listeners;
    i.listeners = undefined;
    i.told = true;
    for (const listener of listeners) {
      try {
        listener(end);
      } catch (err) {
        report(err);
      }
    }
  }

  /** True when something listens for the end (so the end is worth describing). */
  get endHeard(): boolean {
    return this.interception?.listeners !== undefined;
  }

  /** The context its handler sees (see {@link callContext}). */
  get context(): CallContext {
    this.ctx ??= new ScopeContext(this, this.caller, this.actor, this.method, this.metadata);
    return this.ctx;
  }

  /** The handler's signal (made on first use). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.why !== undefined) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.why !== undefined;
  }

  /** Ended: aborted or disposed. No listener is called after this. */
  get over(): boolean {
    return this.done;
  }

  /**
   * Listen for the abort like an AbortSignal's 'abort' event (once), without making one. A listener
   * added after the abort (or the dispose) is not called.
   */
  addEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.done) return;
    const l = this.listeners;
    this.listeners = l === undefined ? listener : Array.isArray(l) ? [...l, listener] : [l, listener];
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    const l = this.listeners;
    if (l === listener) this.listeners = undefined;
    else if (Array.isArray(l)) {
      const rest = l.filter((x) => x !== listener);
      this.listeners = rest.length === 1 ? rest[0] : rest.length === 0 ? undefined : rest;
    }
  }

  /** Why the call was aborted; undefined while it was not. */
  get reason(): RpcError | undefined {
    return this.why;
  }

  /** Abort the call with `reason` (once) and stop its timer. */
  abort(reason: RpcError): void {
    if (this.done) return;
    this.done = true;
    this.clear();
    this.why = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners !== undefined) {
      for (const l of Array.isArray(listeners) ? listeners : [listeners]) {
        try {
          if (typeof l === 'function') l();
          else l.handleEvent();
        } catch {
          // A listener's failure must not stop the abort (the others, onAbort) from running.
        }
      }
    }
    this.onAbort?.(reason);
    this.whenAborted(reason);
  }

  /** Runs once when the scope aborts, after `onAbort`: a subclass's way to react without a closure. */
  protected whenAborted(_reason: RpcError): void {}

  /**
   * The caller cancelled. Within {@link DEADLINE_SKEW_MS} of the deadline (or past it) that is the
   * caller's deadline: DEADLINE_EXCEEDED; else CANCELLED.
   */
  cancel(): void {
    if (this.done) return;
    const deadline = this.deadline;
    const skew = Math.min(DEADLINE_SKEW_MS, (this.timeoutMs ?? 0) / 2);
    if (deadline !== undefined && deadline - Date.now() <= skew) this.abort(this.deadlineError());
    else this.abort(rpcError('CANCELLED', `${label(this.actor, this.method)}: the caller cancelled`));
  }

  /** The call ended normally: stop the timer; the signal never fires after this. */
  dispose(): void {
    this.done = true;
    this.listeners = undefined;
    this.clear();
  }

  /**
   * The call has no deadline any more (the actor's default deadline does not bound a stream result):
   * the timer stops and the context's deadline is undefined from now on.
   */
  dropDeadline(): void {
    this.clear();
    this.deadline = undefined;
  }

  /** The deadline timer fired. */
  expire(): void {
    if (this.done) return;
    this.expired = true;
    this.abort(this.deadlineError());
  }

  private deadlineError(): RpcError {
    const what = label(this.actor, this.method);
    return rpcError('DEADLINE_EXCEEDED', `${what}: deadline of ${this.timeoutMs} ms exceeded`);
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** A timer callback shared by every scope (no closure per call). */
function expire(scope: CallScope): void {
  scope.expire();
}

/** What a {@link CallScope} keeps for its interceptors. */
interface Interception {
  readonly interceptors: readonly ServerInterceptor[];
  readonly receivedAt: number;
  /** `onEnd` listeners, until the end is told. */
  listeners: CallEndListener[] | undefined;
  /** The end was told: later listeners are not called. */
  told: boolean;
}

/** The context a {@link CallScope} hands its handler; `signal` is made on first read. */
class ScopeContext implements CallContext {
  readonly #scope: CallScope;

  constructor(
    scope: CallScope,
    readonly caller: Caller,
    readonly actor: string,
    readonly method: string,
    readonly metadata: CallMetadata,
  ) {
    this.#scope = scope;
  }

  get deadline(): number | undefined {
    return this.#scope.deadline;
  }

  get key(): string | undefined {
    return this.#scope.key;
  }

  get signal(): AbortSignal {
    return this.#scope.signal;
  }
}

/**
 * The scope of the call whose handler is running: across awaits on Node (AsyncLocalStorage); in a
 * browser only synchronously, up to the handler's first await (src/platform/browser/scope-storage.ts).
 */
const current = new ScopeStorage<CallScope>();

/** Calls a handler: `fn.apply(self, args)`, or that with checks around it (the method's schemas). */
export interface HandlerInvoker {
  invoke(fn: Function, self: unknown, args: readonly unknown[]): unknown;
}

/**
 * Run `fn` (a handler, or a callback a peer calls) as `self.fn(...args)` inside `scope`, through the
 * scope's server interceptors and then `invoker` (if given): from it, {@link callContext} is the
 * scope's context and calls it makes inherit the scope. Returns what the chain returns; throws what it
 * throws.
 */
export function runInScope(
  scope: CallScope,
  fn: Function,
  self: unknown,
  args: readonly unknown[],
  invoker?: HandlerInvoker,
): unknown {
  const interceptors = scope.interceptors;
  if (interceptors !== undefined) {
    return current.run(scope, runServerChain, interceptors, scope, fn, self, args, invoker);
  }
  if (invoker !== undefined) return current.run(scope, invokeWith, invoker, fn, self, args);
  return current.run(scope, applyHandler, fn, self, args);
}

function applyHandler(fn: Function, self: unknown, args: readonly unknown[]): unknown {
  return fn.apply(self, args);
}

function invokeWith(invoker: HandlerInvoker, fn: Function, self: unknown, args: readonly unknown[]): unknown {
  return invoker.invoke(fn, self, args);
}

/** The scope of the handler running now, if any: what outgoing calls inherit. */
export function currentScope(): CallScope | undefined {
  return current.getStore();
}

/**
 * The context of the call being served: caller, actor, method, deadline, signal and metadata. Works in
 * any function a handler calls, across awaits. Throws RpcError INTERNAL when no handler is running (at
 * top level, or in code started outside a call, such as a timer set up in `onStart`).
 */
export function callContext(): CallContext {
  const scope = current.getStore();
  if (scope === undefined) throw rpcError('INTERNAL', 'callContext() called outside a handler');
  return scope.context;
}

/** `calculator.add`, or `callback` for an anonymous target; for messages. */
export function label(actor: string, method: string): string {
  if (actor === '' && method === '') return 'callback';
  return actor === '' ? method : `${actor}.${method}`;
}

/** What {@link onSignal} returns when there is nothing to stop. */
const NOTHING = (): void => {};

/** The calls listening to each caller's signal: one 'abort' listener per signal, however many calls share it. */
const watchers = new WeakMap<AbortSignal, Set<(reason: RpcError) => void>>();

/**
 * Run `onAbort(reason)` when `signal` aborts (at once if it already has). Returns the function that
 * stops listening. The reason becomes CANCELLED unless it already is an RpcError.
 *
 * Many calls may share one signal (a user's AbortSignal for a batch): the signal gets ONE listener that
 * fans out to a set, so no MaxListenersExceededWarning however many calls are in flight.
 */
export function onSignal(signal: AbortSignal | undefined, onAbort: (reason: RpcError) => void): () => void {
  if (!signal) return NOTHING;
  if (signal.aborted) {
    onAbort(reasonOf(signal));
    return NOTHING;
  }
  let set = watchers.get(signal);
  if (set === undefined) {
    const calls = new Set<(reason: RpcError) => void>();
    set = calls;
    watchers.set(signal, calls);
    signal.addEventListener(
      'abort',
      () => {
        watchers.delete(signal);
        const reason = reasonOf(signal);
        for (const call of [...calls]) call(reason);
      },
      { once: true },
    );
  }
  const calls = set;
  calls.add(onAbort);
  return () => {
    calls.delete(onAbort);
  };
}

function reasonOf(signal: AbortSignal): RpcError {
  return isRpcError(signal.reason) ? signal.reason : rpcError('CANCELLED', 'the call was cancelled');
}
