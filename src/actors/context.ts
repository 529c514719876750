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
   * unsubscribes (CANCELLED), or when the connection is lost (UNAVAILABLE). A deadline that the caller's
   * own timer caught first arrives as its cancellation (CANCELLED). Hand it to anything that takes a
   * signal; the call has already failed for the caller when it fires.
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
 * Owns one call's AbortController and deadline timer. The first of {@link abort}, the deadline, or
 * {@link dispose} wins; later ones do nothing. `onAbort` runs once, with the reason, when it aborts.
 */
export class CallScope {
  readonly context: CallContext;
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  /** `timeoutMs` of 0 or undefined: no deadline. */
  constructor(
    caller: Caller,
    actor: string,
    method: string,
    timeoutMs: number | undefined,
    private readonly onAbort?: (reason: RpcError) => void,
  ) {
    const deadline = timeoutMs ? Date.now() + timeoutMs : undefined;
    this.context = {
      [CALL_CONTEXT]: true,
      caller,
      actor,
      method,
      signal: this.controller.signal,
      deadline,
    };
    if (timeoutMs) {
      this.timer = setTimeout(
        () =>
          this.abort(
            rpcError('DEADLINE_EXCEEDED', `${label(actor, method)}: deadline of ${timeoutMs} ms exceeded`),
          ),
        timeoutMs,
      );
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Abort the call with `reason` (once) and stop its timer. */
  abort(reason: RpcError): void {
    if (this.done) return;
    this.done = true;
    this.clear();
    this.controller.abort(reason);
    this.onAbort?.(reason);
  }

  /** The call ended normally: stop the timer; the signal never fires after this. */
  dispose(): void {
    this.done = true;
    this.clear();
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
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

/**
 * Run `onAbort(reason)` when `signal` aborts (at once if it already has). Returns the function that
 * stops listening. The reason becomes CANCELLED unless it already is an RpcError.
 */
export function onSignal(signal: AbortSignal | undefined, onAbort: (reason: RpcError) => void): () => void {
  if (!signal) return () => {};
  const fire = () =>
    onAbort(isRpcError(signal.reason) ? signal.reason : rpcError('CANCELLED', 'the call was cancelled'));
  if (signal.aborted) {
    fire();
    return () => {};
  }
  signal.addEventListener('abort', fire, { once: true });
  return () => signal.removeEventListener('abort', fire);
}
