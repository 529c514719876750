/**
 * Values that travel as channels (docs/PROTOCOL.md 5.4), anywhere inside arguments and results:
 *
 * | the sender puts                      | on the wire                         | the receiver gets                      | lives until |
 * |--------------------------------------|-------------------------------------|----------------------------------------|-------------|
 * | an Observable / AsyncIterable        | CHANNEL (ext 1), NESTED_SEND: items | a Receiver (Observable, async iterable) | the call that carried it ends, or its reader cancels |
 * | a function                           | CALLBACK (ext 4), NESTED_RECV       | an async function whose calls go back   | the call that carried it ends |
 * | a ref (local or remote)              | REF (ext 3), NESTED_RECV            | a ref to the same actor, through us     | the holder releases or drops it, or the connection closes |
 * | a Node Readable / Writable           | BYTES (ext 2)                       | a Readable / Writable                  | its stream ends |
 *
 * A passed ref or callback is a capability: the peer's calls through it are not checked against
 * `allow` lists. When a served call is refused or fails, everything its CALL record carried is released
 * (a Receiver cancelled, a Sender closed, a byte stream destroyed, a ref released), so nothing stays open
 * on either side.
 *
 * {@link ActorEnds} is the connection's EndCodec (see the channel layer): it runs while a message is
 * encoded or decoded. The code that writes a message names the call that owns what the message carries
 * ({@link ActorEnds.owner}); the code that reads one takes what its references placed
 * ({@link ActorEnds.take}).
 */
import { isObservable } from 'rxjs';
import { destroyByteStream } from '#platform/byte-streams.js';
import { type EndCodec, Receiver, Sender } from '../transport/channel/index.js';
import { functionTarget, type Target } from './callee/target.js';
import type { Call } from './caller/call.js';
import { isRef, makeRef, type RefInvoker, refState } from './caller/ref.js';
import type { Caller, CallScope } from './context.js';
import type { ErrorWhere } from './error-policy.js';
import { isByteStream, isStreamLike } from './invoke.js';
import type { Link } from './link.js';
import { pumpIterable } from './pull-pump.js';
import { type AbortLike, type PumpOptions, type PumpOwner, pumpObservable } from './pump.js';
import type { Ref } from './types.js';

/** Ext types (channel-layer tags) of values that travel as channels. */
export const EndTag = {
  /** A ref: a channel on which the holder writes CALL records (with `r`). */
  REF: 0x03,
  /** A callback function: the same, with method ''. */
  CALLBACK: 0x04,
} as const;

/** The call (outbound or served) whose message is being encoded: what it carries stops when it ends. */
export interface EndOwner {
  /** Aborts when the call ends. Asked for only when the message carries a stream or a callback. */
  endSignal(): AbortLike;
}

/** The invoker behind a callback or ref a peer passed us. */
export interface PassedInvoker extends RefInvoker {
  /** Calls made through it belong to `scope` (inherit its deadline and cancellation). */
  bindTo(scope: CallScope): void;
  /** Close its channel: later calls fail UNAVAILABLE. Idempotent. */
  release(): void;
}

/**
 * What ends.ts needs of the rest of the actor layer, given by the system (so this file imports neither
 * the server nor the caller's side: they import it).
 */
export interface EndServices {
  /** Serve the calls the peer writes on `receiver` (a ref or callback we pass) with `target`. */
  serveChannel(link: Link, receiver: Receiver<unknown>, target: Target): void;
  /** Calls through a channel a peer passed us (`held`: a ref, kept until released or collected). */
  passedInvoker(link: Link, sender: Sender<unknown>, what: 'ref' | 'callback', held: boolean): PassedInvoker;
}

/** Never aborts: the lifetime of a stream inside a result is its reader's. */
const NEVER: AbortLike = {
  aborted: false,
  addEventListener() {},
  removeEventListener() {},
};

const callbacks = new WeakMap<Function, PassedInvoker>();

/** The channel behind a callback function a peer passed us, if `fn` is one. */
export function callbackInvoker(fn: unknown): PassedInvoker | undefined {
  return typeof fn === 'function' ? callbacks.get(fn) : undefined;
}

/** A function whose calls go to `invoker` (method ''), each returning a promise. */
export function makeCallback(invoker: PassedInvoker): (...args: unknown[]) => Promise<unknown> {
  const fn = (...args: unknown[]): Promise<unknown> => resolveCall(invoker.call('', args, {}));
  callbacks.set(fn, invoker);
  return fn;
}

function resolveCall(call: Call<unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => call.then(resolve, reject));
}

export class ActorEnds implements EndCodec {
  /** Set by the system right after the link is made (the link needs the session, which needs this). */
  link!: Link;
  /** The call whose message is being encoded now; set around each write by the code that writes it. */
  owner: EndOwner | undefined = undefined;
  private placed: readonly unknown[] | undefined = undefined;

  constructor(private readonly services: EndServices) {}

  encode(value: object): { end: object; tag: number } | undefined {
    const link = this.link;
    if (isRef(value)) {
      const state = refState(value)!;
      const receiver = new Receiver<unknown>();
      this.services.serveChannel(link, receiver, state.invoker.target(state.options));
      return { end: receiver, tag: EndTag.REF };
    }
    if (typeof value === 'function') {
      const receiver = new Receiver<unknown>();
      this.services.serveChannel(link, receiver, functionTarget(value));
      const owner = this.owner;
      if (owner !== undefined) owner.endSignal().addEventListener('abort', () => receiver.cancel());
      return { end: receiver, tag: EndTag.CALLBACK };
    }
    if (isStreamLike(value)) {
      const sender = new Sender<unknown>();
      pumpInto(link, value, sender, this.owner?.endSignal() ?? NEVER);
      return { end: sender, tag: 0 };
    }
    return undefined;
  }

  decode(end: object, tag: number): unknown {
    const sender = end as Sender<unknown>;
    if (tag === EndTag.REF) return makeRef(this.services.passedInvoker(this.link, sender, 'ref', true));
    if (tag === EndTag.CALLBACK) {
      return makeCallback(this.services.passedInvoker(this.link, sender, 'callback', false));
    }
    // A tag this node does not know: the end as it is (a Sender the handler can ignore).
    return end;
  }

  begin(): void {
    this.placed = undefined;
  }

  committed(placed: readonly unknown[]): void {
    this.placed = placed;
  }

  /** What the references of the message decoded last placed in it; forgets them. */
  take(): readonly unknown[] | undefined {
    const placed = this.placed;
    this.placed = undefined;
    return placed;
  }
}

/**
 * Pump an Observable or AsyncIterable into `sender` until it ends, its reader cancels, or `until`
 * aborts; a stream stopped by `until` ends with CANCELLED. The source is subscribed once the sender is
 * bound (its message written), never if the message fails.
 */
function pumpInto(link: Link, source: unknown, sender: Sender<unknown>, until: AbortLike): void {
  sender.drained().then(
    () => startPump(link, source, sender, until),
    () => {}, // the message carrying it failed: nothing was subscribed
  );
}

/** The owner of a stream this node sends as an argument: its errors come from the peer's call. */
class ArgumentStream implements PumpOwner {
  constructor(private readonly peer: Caller) {}

  errorWhere(): ErrorWhere {
    return { peer: this.peer };
  }

  pumpFailed(): void {}
}

function startPump(link: Link, source: unknown, sender: Sender<unknown>, until: AbortLike): void {
  const { config, stats } = link.core;
  const options: PumpOptions = {
    buffer: config.streamBuffer,
    bytes: link.pushBytes,
    overflow: config.overflow,
    errors: link.core,
    owner: new ArgumentStream(link.caller),
    signal: until,
    stats,
  };
  const pumped = isObservable(source)
    ? pumpObservable(source, sender, options)
    : pumpIterable(source as AsyncIterable<unknown>, sender, options);
  void pumped.then((end) => {
    if (end === 'cancelled') sender.error('CANCELLED', 'the call ended');
  });
}

/**
 * A served call ended: stop what its arguments carried that belongs to the call (Receivers of streams
 * are cancelled, callbacks closed); refs, Senders and byte streams are the handler's. `failed`: the call
 * was refused or its handler failed: release everything, refs and byte streams included.
 */
export function releasePlaced(placed: readonly unknown[] | undefined, failed: boolean): void {
  if (placed === undefined) return;
  for (const v of placed) {
    try {
      if (v instanceof Receiver) v.cancel();
      else if (typeof v === 'function') callbacks.get(v)?.release();
      else if (!failed) continue;
      else if (v instanceof Sender) v.close();
      else if (isByteStream(v)) destroyByteStream(v as object);
      else if (isRef(v)) (v as Ref<unknown>)[Symbol.dispose]();
    } catch {
      // A stream whose destroy() throws is the owner's bug; the rest is still released.
    }
  }
}

/** Calls made through callbacks that a served call received belong to it (inherit its scope). */
export function bindCallbacks(placed: readonly unknown[] | undefined, scope: CallScope): void {
  if (placed === undefined) return;
  for (const v of placed) if (typeof v === 'function') callbacks.get(v)?.bindTo(scope);
}

/** Wrap the function arguments of a local call so a handler gets async functions, as remotely. */
export function asyncCallbacks(args: unknown[]): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a !== 'function' || isRef(a)) continue;
    out ??= args.slice();
    out[i] = localCallback(a);
  }
  return out ?? args;
}

function localCallback(fn: Function): (...args: unknown[]) => Promise<unknown> {
  return async (...args: unknown[]) => fn(...args);
}
