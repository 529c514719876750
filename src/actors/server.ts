/**
 * The callee's side: serve the calls arriving on one mailbox channel. For each call: validate it,
 * apply the per-connection limit, admit it (method exists, caller authorized), start its deadline,
 * watch its reply channel for cancellation, decode its arguments, run it through the target (the
 * actor's mailbox), and answer on the reply channel — one value, a stream with backpressure, or an
 * ERROR record. Every call ends: with a reply, an error, its deadline, or the connection.
 *
 * Bad input from the peer fails only that call (INVALID_ARGUMENT on its reply channel); a message
 * with no reply channel to answer on is dropped. A call that is refused or fails releases every channel
 * and byte stream it carried (ends.ts).
 */

import { isObservable } from 'rxjs';
import type { Receiver, Sender } from '../transport/channel/index.js';
import { isTransportError } from '../transport/errors.js';
import { type DecodedArgs, decodeArgs } from './args.js';
import { CallScope } from './context.js';
import { releaseEnds } from './ends.js';
import { errorToWire, type RpcError, rpcError, toRpcError } from './errors.js';
import { isStreamLike } from './invoke.js';
import type { Link } from './link.js';
import { type PumpEnd, type PumpOptions, pumpIterable, pumpObservable } from './pump.js';
import type { Roster, RosterEntry } from './roster.js';
import { cellTarget, type Outcome, type Target } from './target.js';
import { type ParsedCall, parseCall, parseOpen, replyOf, type UnaryReply } from './wire.js';

/**
 * Serve `receiver`'s calls on `link` until it ends. With a `target`, calls go to it (a nested mailbox:
 * a callback or a ref we passed); without, the first message must name an actor (a top-level mailbox).
 * The link keeps the receiver so its close can end it (see Link.close).
 */
export function serveMailbox(link: Link, receiver: Receiver<unknown>, target?: Target): void {
  if (!link.serve(receiver, target !== undefined)) {
    receiver.cancel();
    return;
  }
  let resolved: Target | string | undefined = target;
  const report = (err: unknown) => link.core.report(err); // once per mailbox, not per call
  receiver.subscribe({
    next(message) {
      if (resolved === undefined) {
        try {
          resolved = parseOpen(message);
        } catch {
          // Bad input from the peer ends only this channel.
          receiver.cancel();
        }
        return;
      }
      try {
        serveCall(link, resolved, message);
      } catch (err) {
        report(err);
      }
    },
    // The mailbox ended (the peer closed it, or the connection ended): calls already read go on.
    error: () => link.unserve(receiver),
    complete: () => link.unserve(receiver),
  });
}

/** A top-level mailbox's target: the actor by name, looked up per call (it may be registered later). */
function targetOf(link: Link, target: Target | string): Target {
  if (typeof target !== 'string') return target;
  const cell = link.core.lookup(target);
  if (!cell) throw rpcError('NOT_FOUND', `no actor named ${target}`);
  return cellTarget(cell);
}

function serveCall(link: Link, where: Target | string, message: unknown): void {
  let call: ParsedCall;
  try {
    call = parseCall(message);
  } catch (err) {
    const reply = replyOf(message);
    if (reply) answerError(link, reply, err);
    releaseEnds(message);
    return;
  }
  const { reply } = call;
  if (!link.beginServe()) {
    releaseEnds(call.args);
    const max = link.core.config.maxCallsPerConnection;
    answerError(
      link,
      reply,
      rpcError('RESOURCE_EXHAUSTED', `${max} calls in progress (maxCallsPerConnection)`),
    );
    return;
  }
  let target: Target;
  try {
    target = targetOf(link, where);
    target.admit(call.method, link.caller);
  } catch (err) {
    link.endServe();
    releaseEnds(call.args);
    answerError(link, reply, err);
    return;
  }
  new ServedCall(link, target, call).start();
}

/**
 * One call being served, from its admission to its end: the scope of its deadline and cancellation (it
 * IS the CallScope), and where the target's outcome goes. One object per call, with methods rather
 * than closures, since every call makes one.
 */
class ServedCall extends CallScope implements Outcome {
  /** Set once something was (or will be) written on the reply channel, or nothing may be. */
  private answered = false;
  /** Cleared when the handler's result was taken: the call's arguments are the handler's from then on. */
  private failed = true;
  private args: DecodedArgs | undefined;
  /** Set by {@link end}, which runs once. */
  private over = false;
  rosterOf: Roster<RosterEntry> | undefined = undefined;
  rosterPrev: RosterEntry | undefined = undefined;
  rosterNext: RosterEntry | undefined = undefined;

  constructor(
    private readonly link: Link,
    private readonly target: Target,
    private readonly call: ParsedCall,
  ) {
    super(
      link.caller,
      target.actor,
      call.method,
      call.timeoutMs ?? target.defaultTimeout(call.method, call.stream),
    );
  }

  start(): void {
    const { link, call } = this;
    link.watch(this);
    try {
      if (call.kinds !== undefined) this.args = decodeArgs(link, call.args, call.kinds, this);
      const values = this.args?.values ?? call.args;
      this.target.dispatch(call.method, values, this.context, call.stream, this);
    } catch (err) {
      this.reject(err);
    }
    // A call that ended already (a handler that returned a value, at once) needs no watch on its reply
    // channel; one that goes on learns from it that the caller cancelled (a cancel that came meanwhile is
    // reported at once).
    if (!this.over) {
      call.reply.onClosed((err) => {
        if (err === undefined) return;
        if (isTransportError(err, 'CHANNEL_CANCELLED')) this.cancel();
        else this.abort(toRpcError(err));
      });
    }
  }

  /** Our own deadline is answered; a cancelled or lost reply channel has nobody to answer. */
  protected override whenAborted(reason: RpcError): void {
    if (!this.answered && this.expired) answerError(this.link, this.call.reply, reason);
    this.answered = true;
  }

  /**
   * The handler's result: answer with it, then end. Never throws (the mailbox calls it and must go on);
   * a bug here is reported and the call still ends.
   */
  resolve(result: unknown): void {
    try {
      this.answer(result);
    } catch (err) {
      this.link.core.report(err);
      this.end();
    }
  }

  private answer(result: unknown): void {
    if (this.aborted) {
      this.end();
      return;
    }
    this.failed = false;
    this.answered = true;
    const call = this.call;
    if (!call.stream) {
      const body: UnaryReply = isStreamLike(result) ? { s: 1 } : result === undefined ? {} : { v: result };
      this.sendOne(body);
    } else if (isStreamLike(result)) {
      this.streamOut(result);
    } else {
      this.sendOne(result);
    }
  }

  /**
   * The one message of a reply, then FIN, then the end of the call. A value that cannot be sent
   * (ENCODE_ERROR, MESSAGE_TOO_LARGE) is answered with its error instead; a reply channel that is gone
   * (cancelled, connection lost) is left. `write` queues without a promise; a failure it can only find
   * later resets the reply channel, which the caller sees as the call's error.
   */
  private sendOne(message: unknown): void {
    const reply = this.call.reply;
    try {
      reply.write(message);
      reply.close();
    } catch (err) {
      answerError(this.link, reply, err);
    }
    this.end();
  }

  /**
   * Pump a stream result into the reply channel, with the method's buffer and overflow policy. The
   * call's scope is the pump's stop signal (no AbortController per stream).
   */
  private streamOut(source: object): void {
    const { config, stats } = this.link.core;
    const per = this.target.streamOptions(this.call.method);
    const options: PumpOptions = {
      buffer: per.buffer ?? config.streamBuffer,
      overflow: per.overflow ?? config.overflow,
      exposeStack: config.exposeStackTraces,
      signal: this,
      stats,
    };
    const reply = this.call.reply;
    const pumped = isObservable(source)
      ? pumpObservable(source, reply, options)
      : pumpIterable(source as AsyncIterable<unknown>, reply, options);
    pumped.then(
      (end) => this.streamEnded(end),
      (err: unknown) => this.reject(err),
    );
  }

  private streamEnded(end: PumpEnd): void {
    // A deadline during the stream: the scope's abort handler cannot answer (the stream had begun).
    const reason = this.reason;
    if (end === 'cancelled' && reason?.code === 'DEADLINE_EXCEEDED' && this.expired) {
      this.call.reply.error(reason.code, reason.message);
    }
    this.end();
  }

  /** The handler failed, or the call could not run: answer with the reason, then end. Never throws. */
  reject(err: unknown): void {
    try {
      if (!this.answered) {
        this.answered = true;
        answerError(this.link, this.call.reply, this.reason ?? err);
      }
    } catch (bug) {
      this.link.core.report(bug);
    }
    this.end();
  }

  /** Once: stop the deadline, release what the call holds, and count it out of the connection. */
  private end(): void {
    if (this.over) return;
    this.over = true;
    try {
      this.dispose();
      this.link.unwatch(this);
      this.args?.release();
      // A call that failed (refused while queued, deadline, handler error) leaves nothing open.
      if (this.failed) releaseEnds(this.args?.values ?? this.call.args);
    } catch (bug) {
      this.link.core.report(bug);
    } finally {
      this.link.endServe();
    }
  }
}

function answerError(link: Link, reply: Sender<unknown>, err: unknown): void {
  const e = errorToWire(err, link.core.config.exposeStackTraces);
  reply.error(e.code, e.message, e.details);
}
