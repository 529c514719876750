/**
 * The caller's side of one call over a connection (docs/PROTOCOL.md 5.2, 5.3). A call to an actor by
 * name is one DUPLEX stream: the CALL record and FIN on our half, the reply on the return half. A call
 * through a ref or callback a peer passed us is a CALL record on that channel, with a reply channel of
 * its own. Either way the reply's first record says its shape (a value, a stream, or an error), so the
 * call never guesses.
 *
 * One {@link OutboundCall} per call, with named phases. It waits for a route (a connection, dialled if
 * needed) and for a slot (maxPendingCalls), sends, reads the shape, and for a stream result starts the
 * items when the reader asks (it ends the demand channel the callee gave), then reads them. Ending a
 * call early (signal, unsubscribe, iterator `return()`, the deadline, the handler that made it being
 * cancelled) cancels the reply channel; the callee sees CHANNEL_CANCELLED and aborts the handler's
 * signal. A deadline fails the call at once but leaves the reply channel to the callee's own deadline
 * for a moment (see `OutboundCall.expire`).
 */
import {
  openDuplexCall,
  Receiver,
  type ReceiverObserver,
  type Sender,
} from '../../transport/channel/index.js';
import { isTransportError } from '../../transport/errors.js';
import { badCallTimeout } from '../config.js';
import { type CallScope, currentScope, onSignal } from '../context.js';
import type { Counters, EndCode } from '../counters.js';
import type { EndOwner } from '../ends.js';
import { type RpcError, rpcError, toRpcError } from '../errors.js';
import { isThenable } from '../invoke.js';
import type { Link, PendingCall } from '../link.js';
import { AbortFlag, type AbortLike } from '../pump.js';
import type { Roster, RosterEntry } from '../roster.js';
import type { CallOptions } from '../types.js';
import { type CallRecord, parseShape } from '../wire.js';
import { Call, type CallMaker, type ItemObserver, type StreamResult } from './call.js';

/** Where a call goes: a link, and the channel of a ref or callback a peer passed us (none: by name). */
export interface Route {
  readonly link: Link;
  readonly channel?: Sender<unknown>;
}

/** Where a call finds its route (an invoker, or a cluster call's attempt). */
export interface RouteSource {
  /** The route now, or once connected (it may dial). Throws or rejects: the call fails with it. */
  route(): Route | Promise<Route>;
}

/**
 * What one outbound call reports to: its {@link Call}, or a cluster call that decides whether the
 * attempt's outcome is the call's. Exactly one of `resolveValue`, `resolveStream` or `reject`, once;
 * `onCancel` is given, at the start, the way to cancel the call while it has no outcome.
 */
export interface CallSink {
  onCancel(cancel: (reason: RpcError) => void): void;
  resolveValue(value: unknown): void;
  resolveStream(stream: StreamResult): void;
  reject(err: RpcError): void;
}

/** What a call is doing. */
enum Phase {
  /** Waiting for a connection, or for a slot on it. */
  Starting,
  /** Sent; waiting for the reply's first record. */
  Sent,
  /** The reply is a stream whose items the reader has not asked for yet. */
  Parked,
  /** The items are flowing to the reader. */
  Streaming,
  /** Ended: with a value, an error, or the items' end. */
  Over,
}

/**
 * Start one call to `actor` (by name; undefined: through `source`'s channel). Never throws: a call that
 * cannot start fails through its Call. `maker` makes the same call again (a second subscription).
 * `bound`: the scope calls through a callback belong to (else the handler running now, if any). The
 * call's end is counted in `counters`.
 */
export function remoteCall(
  maker: CallMaker,
  source: RouteSource,
  actor: string | undefined,
  method: string,
  args: unknown[],
  options: CallOptions,
  counters: Counters,
  bound?: CallScope,
): Call<unknown> {
  const call = new Call<unknown>(maker, method, args, options);
  sendCall(call, source, actor, method, args, options, counters, bound);
  return call;
}

/** Start one call as {@link remoteCall} does, reporting its outcome to `sink`. Never throws. */
export function sendCall(
  sink: CallSink,
  source: RouteSource,
  actor: string | undefined,
  method: string,
  args: unknown[],
  options: CallOptions,
  counters: Counters,
  bound?: CallScope,
): void {
  const parent = options.detached ? undefined : (bound ?? currentScope());
  new OutboundCall(sink, actor, method, args, options, parent, counters).launch(source);
}

class OutboundCall implements PendingCall, ReceiverObserver<unknown>, StreamResult, EndOwner {
  rosterOf: Roster<RosterEntry> | undefined = undefined;
  rosterPrev: RosterEntry | undefined = undefined;
  rosterNext: RosterEntry | undefined = undefined;
  private phase = Phase.Starting;
  private link: Link | undefined = undefined;
  private channel: Sender<unknown> | undefined = undefined;
  private reply: Receiver<unknown> | undefined = undefined;
  private demand: Sender<unknown> | undefined = undefined;
  private observer: ItemObserver | undefined = undefined;
  private readonly deadline: number | undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  private unlinkSignal: (() => void) | undefined = undefined;
  /** Aborts when the call ends: stops the streams and callbacks its arguments carry. Made on first use. */
  private ended: AbortFlag | undefined = undefined;

  constructor(
    private readonly call: CallSink,
    private readonly actor: string | undefined,
    private readonly method: string,
    private readonly args: unknown[],
    private readonly options: CallOptions,
    private readonly parent: CallScope | undefined,
    private readonly counters: Counters,
  ) {
    this.deadline = deadlineOf(options, parent);
    call.onCancel((reason) => this.fail(reason));
  }

  /** Arm the deadline and the cancellations, then find the route. */
  launch(source: RouteSource): void {
    const badTimeout = badCallTimeout(this.options.timeoutMs);
    if (badTimeout !== undefined) {
      this.fail(rpcError('INVALID_ARGUMENT', `${this.method}: ${badTimeout}`));
      return;
    }
    if (this.deadline !== undefined) {
      const remaining = this.deadline - Date.now();
      if (remaining <= 0) {
        this.fail(this.deadlineError());
        return;
      }
      this.timer = setTimeout(expire, remaining, this);
    }
    const signal = this.options.signal;
    if (signal !== undefined) {
      this.unlinkSignal = onSignal(signal, (reason) => this.fail(reason));
      if (this.phase === Phase.Over) return;
    }
    if (this.parent !== undefined) {
      if (this.parent.aborted) {
        this.fail(this.parent.reason!);
        return;
      }
      this.parent.addEventListener('abort', this);
    }
    let route: Route | Promise<Route>;
    try {
      route = source.route();
    } catch (err) {
      this.fail(toRpcError(err, 'UNAVAILABLE'));
      return;
    }
    if (!isThenable(route)) {
      this.routed(route);
      return;
    }
    route.then(
      (r) => this.routed(r),
      (err: unknown) => this.fail(toRpcError(err, 'UNAVAILABLE')),
    );
  }

  /** The handler that made this call was aborted: so is this call, with the same reason. */
  handleEvent(): void {
    this.fail(this.parent?.reason ?? rpcError('CANCELLED', `${this.method}: the calling handler ended`));
  }

  private routed(route: Route): void {
    if (this.phase !== Phase.Starting) return;
    this.link = route.link;
    this.channel = route.channel;
    try {
      route.link.begin(this); // sends now, or once a slot is free
    } catch (err) {
      this.link = undefined;
      this.fail(toRpcError(err, 'UNAVAILABLE'));
    }
  }

  /** PendingCall: a slot is ours. Write the CALL record. */
  send(): void {
    if (this.phase !== Phase.Starting) return;
    const link = this.link!;
    const record: CallRecord =
      this.actor === undefined
        ? { m: this.method, a: this.args }
        : { n: this.actor, m: this.method, a: this.args };
    const key = this.options.key;
    if (key !== undefined && this.actor !== undefined) record.k = key;
    if (this.deadline !== undefined) {
      const remaining = Math.ceil(this.deadline - Date.now());
      if (remaining <= 0) {
        this.fail(this.deadlineError());
        return;
      }
      record.t = remaining;
    }
    const metadata = this.options.metadata;
    if (metadata !== undefined) record.h = metadata;
    const ends = link.ends;
    ends.owner = this;
    let reply: Receiver<unknown>;
    try {
      if (this.channel !== undefined) {
        reply = new Receiver<unknown>();
        record.r = reply;
        this.channel.write(record);
      } else {
        // A stream whose CALL cannot be written is reset (openDuplexCall does it), or the callee would
        // hold the calls opened after it (they are admitted in order) until the connection ends.
        reply = openDuplexCall(link.channels, record);
      }
    } catch (err) {
      this.fail(sendError(err));
      return;
    } finally {
      ends.owner = undefined;
    }
    this.reply = reply;
    this.phase = Phase.Sent;
    reply.consume(this);
  }

  // ------------------------------------------------------------------ the reply (ReceiverObserver)

  next(message: unknown): void {
    this.link?.ends.take(); // what a reply carries lives as the reader keeps it, not as the call
    switch (this.phase) {
      case Phase.Sent: {
        let shape: ReturnType<typeof parseShape>;
        try {
          shape = parseShape(message);
        } catch (err) {
          this.fail(toRpcError(err));
          return;
        }
        if (shape.kind === 'value') {
          this.finish();
          this.call.resolveValue(shape.value);
        } else {
          this.demand = shape.demand;
          this.phase = Phase.Parked;
          this.counters.streamsIn++;
          this.call.resolveStream(this);
        }
        return;
      }
      case Phase.Streaming:
        this.observer?.next(message);
        return;
      case Phase.Parked:
        this.fail(rpcError('INTERNAL', `${this.method}: stream items before they were asked for`));
        return;
      default:
    }
  }

  error(err: unknown): void {
    this.fail(toRpcError(err));
  }

  complete(): void {
    if (this.phase === Phase.Streaming) {
      const observer = this.observer;
      this.finish();
      observer?.complete();
      return;
    }
    if (this.phase === Phase.Sent || this.phase === Phase.Parked) {
      this.fail(rpcError('INTERNAL', `${this.method}: the reply ended without a reply`));
    }
  }

  // ------------------------------------------------------------------ StreamResult

  start(observer: ItemObserver): void {
    if (this.phase !== Phase.Parked) {
      observer.error(rpcError('CANCELLED', `${this.method}: the call already ended`));
      return;
    }
    this.phase = Phase.Streaming;
    this.observer = observer;
    this.demand?.close(); // the callee subscribes to its source now
  }

  cancel(reason: RpcError): void {
    this.observer = undefined; // whoever cancels needs no word back
    this.fail(reason);
  }

  pause(): void {
    this.reply?.pause();
  }

  resume(): void {
    this.reply?.resume();
  }

  // ------------------------------------------------------------------ the end

  /** Aborts when the call ends (EndOwner): the arguments' streams and callbacks stop with it. */
  endSignal(): AbortLike {
    this.ended ??= new AbortFlag();
    if (this.phase === Phase.Over) this.ended.abort();
    return this.ended;
  }

  /** End the call with `err` (once): tell the reader, cancel the reply channel, stop the arguments. */
  fail(err: RpcError): void {
    if (this.phase === Phase.Over) return;
    const streaming = this.phase === Phase.Streaming;
    const observer = this.observer;
    this.phase = Phase.Over;
    this.cleanup(err.code);
    if (streaming) observer?.error(err);
    else this.call.reject(err);
    this.reply?.cancel();
    this.demand?.close();
  }

  /**
   * The deadline passed: the call fails now, but its reply channel is not cancelled at once. The callee
   * armed the same deadline when the call arrived (a little later than ours), so its own timer is about
   * to end the handler with DEADLINE_EXCEEDED and answer; cancelling first would make the handler see
   * our cancel instead. The link cancels the channel after a grace if the callee does not end it.
   */
  expire(): void {
    if (this.phase === Phase.Over) return;
    const reply = this.reply;
    if (reply === undefined) {
      this.fail(this.deadlineError());
      return;
    }
    const streaming = this.phase === Phase.Streaming;
    const observer = this.observer;
    this.phase = Phase.Over;
    this.cleanup('DEADLINE_EXCEEDED');
    if (streaming) observer?.error(this.deadlineError());
    else this.call.reject(this.deadlineError());
    this.link!.linger(reply);
  }

  /** The reply was read whole. */
  private finish(): void {
    this.phase = Phase.Over;
    this.cleanup('OK');
  }

  /** Once, when the call ends with `code`. */
  private cleanup(code: EndCode): void {
    if (this.demand !== undefined) this.counters.streamsIn--;
    this.counters.madeEnded(code);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.unlinkSignal?.();
    this.parent?.removeEventListener('abort', this);
    this.ended?.abort();
    this.link?.end(this);
  }

  private deadlineError(): RpcError {
    return rpcError('DEADLINE_EXCEEDED', `${this.method}: deadline exceeded`);
  }
}

/** A deadline timer's callback, shared by every call (no closure per call). */
function expire(call: OutboundCall): void {
  call.expire();
}

/**
 * The call's deadline: its own `timeoutMs`, and (unless detached) the calling handler's, whichever is
 * earlier; undefined: none.
 */
function deadlineOf(options: CallOptions, parent: CallScope | undefined): number | undefined {
  const own = options.timeoutMs ? Date.now() + options.timeoutMs : undefined;
  const inherited = parent?.deadline;
  if (inherited === undefined) return own;
  return own === undefined ? inherited : Math.min(own, inherited);
}

/** A call that could not be sent: a channel the peer closed means the actor is gone for us. */
function sendError(err: unknown): RpcError {
  if (
    isTransportError(err, 'CHANNEL_CANCELLED') ||
    isTransportError(err, 'STREAM_CLOSED') ||
    isTransportError(err, 'SESSION_CLOSED') ||
    isTransportError(err, 'GO_AWAY')
  ) {
    return rpcError('UNAVAILABLE', `the call could not be sent: ${err.message}`, { cause: err });
  }
  if (isTransportError(err, 'STREAM_LIMIT')) {
    return rpcError('RESOURCE_EXHAUSTED', `the call could not be sent: ${err.message}`, { cause: err });
  }
  return toRpcError(err, 'INVALID_ARGUMENT');
}
