/**
 * The context of one call, as a handler sees it, and the scope that owns its deadline and cancellation.
 *
 * A handler receives the context as an extra LAST argument, after the caller's arguments:
 *
 * ```ts
 * async slowAdd(a: number, b: number, ctx: CallContext): Promise<number> {
 *   await setTimeout(1000, undefined, { signal: ctx.signal }); // rejects when the call is cancelled
 *   return a + b;
 * }
 * ```
 *
 * The `Ref<T>` type strips that parameter, so callers write `calc.slowAdd(1, 2)`. At run time the
 * context goes at index `handler.length - 1` (the caller's arguments padded with `undefined` up to there),
 * or right after the caller's arguments when it sent more. So: declare it last, and do not give earlier
 * parameters default values (`Function.length` stops counting at the first default; use `?` instead).
 * A method with optional parameters that must never see the context in their place simply declares it.
 */
import { isRpcError, type RpcError, rpcError } from './errors.js';
import type { AbortListener } from './pump.js';

/** Brands a {@link CallContext}, so `Ref<T>` can tell it from any other last parameter. */
export const CALL_CONTEXT: unique symbol = Symbol('rxchan.CallContext');

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

/** What a handler learns about the call it serves. */
export interface CallContext {
  readonly [CALL_CONTEXT]: true;
  /** Who called. */
  readonly caller: Caller;
  /** The actor's name ('' when the target is a callback passed as an argument). */
  readonly actor: string;
  /** The method called ('' for a callback). */
  readonly method: string;
  /**
   * Aborts when the deadline passes (reason: RpcError DEADLINE_EXCEEDED), when the caller cancels or
   * unsubscribes (CANCELLED), or when the connection is lost (UNAVAILABLE). A caller's cancel that
   * arrives within {@link DEADLINE_SKEW_MS} of the deadline is the caller's own timer: DEADLINE_EXCEEDED
   * too. Hand it to anything that takes a signal; the call has already failed for the caller when it
   * fires. Made on first read: a handler that never reads it costs no AbortController.
   */
  readonly signal: AbortSignal;
  /** When the call's deadline passes, in `Date.now()` ms of this node's clock; undefined: no deadline. */
  readonly deadline: number | undefined;
}

/** The caller of calls made through local refs. */
export const LOCAL_CALLER: Caller = Object.freeze({
  id: undefined,
  publicKey: undefined,
  name: undefined,
  local: true,
});

/** The Caller for a peer identity of a connection (undefined on insecure connections). */
export function callerOf(
  peer: { id: string; publicKey: Uint8Array; name?: string | undefined } | undefined,
): Caller {
  if (peer === undefined) return { id: undefined, publicKey: undefined, name: undefined, local: false };
  return { id: peer.id, publicKey: peer.publicKey, name: peer.name, local: false };
}

/**
 * A cancel that reaches the callee this close to the call's deadline (or after it) is the caller's
 * deadline, not a user's cancel, ms: the caller's timer fires first (the callee armed its own when the
 * call arrived, a little later), and its cancel races the callee's timer. Capped at half the call's
 * timeout, so a short call cancelled early is still CANCELLED. The caller always sees DEADLINE_EXCEEDED;
 * this only decides what the handler's `ctx.signal.reason` says.
 */
export const DEADLINE_SKEW_MS = 50;

/**
 * Owns one call's deadline timer and cancellation. The first of {@link abort}, {@link cancel}, the
 * deadline, or {@link dispose} wins; later ones do nothing. `onAbort` runs once, with the reason, when
 * it aborts.
 *
 * Cheap on the hot path: the AbortController behind `ctx.signal` is created only when something reads
 * the signal (a handler, a stream pump); a call that ends without anyone asking for it never makes one.
 * A signal first read after the abort is already aborted, with the same reason.
 */
export class CallScope {
  readonly context: CallContext;
  /** Aborted by its own deadline timer (not by a cancel or a lost connection). */
  expired = false;
  private controller: AbortController | undefined;
  /** 'abort' listeners added directly (see {@link addEventListener}); usually none or one. */
  private listeners: AbortListener | AbortListener[] | undefined;
  private why: RpcError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  /** `timeoutMs` of 0 or undefined: no deadline. */
  constructor(
    caller: Caller,
    private readonly actor: string,
    private readonly method: string,
    private readonly timeoutMs: number | undefined,
    private readonly onAbort?: (reason: RpcError) => void,
  ) {
    const deadline = timeoutMs ? Date.now() + timeoutMs : undefined;
    this.context = new ScopeContext(this, caller, actor, method, deadline);
    if (timeoutMs) this.timer = setTimeout(expire, timeoutMs, this);
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

  /**
   * Listen for the abort like an AbortSignal's 'abort' event (once), without making one: a stream pump
   * stops through this, so an open stream costs no AbortController (an EventTarget with its own Map).
   * A listener added after the abort is not called.
   */
  addEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.why !== undefined) return;
    const l = this.listeners;
    this.listeners = l === undefined ? listener : Array.isArray(l) ? [...l, listener] : [l, listener];
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    const l = this.listeners;
    if (l === listener) this.listeners = undefined;
    else if (Array.isArray(l)) this.listeners = l.filter((x) => x !== listener);
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
    const deadline = this.context.deadline;
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

/** The context a {@link CallScope} hands its handler; `signal` is made on first read. */
class ScopeContext implements CallContext {
  readonly [CALL_CONTEXT] = true as const;
  readonly #scope: CallScope;

  constructor(
    scope: CallScope,
    readonly caller: Caller,
    readonly actor: string,
    readonly method: string,
    readonly deadline: number | undefined,
  ) {
    this.#scope = scope;
  }

  get signal(): AbortSignal {
    return this.#scope.signal;
  }

  /** Why the call was aborted, without making a signal. */
  get abortReason(): RpcError | undefined {
    return this.#scope.reason;
  }
}

/**
 * Why the call of `ctx` was aborted, or undefined: read without making the signal of a context built by
 * a {@link CallScope}.
 */
export function abortReasonOf(ctx: CallContext): unknown {
  if (ctx instanceof ScopeContext) return ctx.abortReason;
  return ctx.signal.aborted ? ctx.signal.reason : undefined;
}

/** `calculator.add`, or `callback` for an anonymous target; for messages. */
export function label(actor: string, method: string): string {
  if (actor === '' && method === '') return 'callback';
  return actor === '' ? method : `${actor}.${method}`;
}

/** True for a value built by rxchan as a {@link CallContext}. */
export function isCallContext(v: unknown): v is CallContext {
  return typeof v === 'object' && v !== null && (v as { [CALL_CONTEXT]?: unknown })[CALL_CONTEXT] === true;
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
