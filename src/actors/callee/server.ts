/**
 * The callee's side (docs/PROTOCOL.md 5.2, 5.3): serve the calls a peer makes. A call by actor name
 * arrives as a DUPLEX stream ({@link serveCallStream}); a call through a ref or callback this node passed
 * arrives as a CALL record on that channel ({@link serveChannel}). For each call: validate it, apply
 * the per-connection limit, admit it (the actor exists, the method exists, the caller is allowed), start
 * its deadline, watch its reply channel for cancellation, run it through the target (the actor's
 * mailbox), and answer: the shape first (a value, a stream, or an ERROR record), then for a stream its
 * items once the caller asks for them. Every call ends: with a reply, an error, its deadline, or the
 * connection.
 *
 * Bad input from the peer fails only that call (an ERROR record on its reply channel, never a reset of
 * anything else). A call that is refused or fails releases everything its CALL record carried (ends.ts).
 */
import { isObservable } from 'rxjs';
import {
  type DuplexEnds,
  Receiver,
  type ReceiverObserver,
  type Sender,
} from '../../transport/channel/index.js';
import { isTransportError, type TransportError } from '../../transport/errors.js';
import { CallScope } from '../context.js';
import { bindCallbacks, releasePlaced } from '../ends.js';
import { type ErrorWhere, errorToLocal, errorToWire } from '../error-policy.js';
import { type RpcError, rpcError, toRpcError } from '../errors.js';
import type { CallEnd } from '../interceptors.js';
import { isStreamLike } from '../invoke.js';
import type { Admission, Link } from '../link.js';
import { pumpIterable } from '../pull-pump.js';
import { type PumpDone, type PumpEnd, type PumpOptions, type PumpOwner, startPushPump } from '../pump.js';
import type { Roster, RosterEntry } from '../roster.js';
import { type ParsedCall, parseCall, replyOf } from '../wire.js';
import { cellTarget, keyedTarget, type Outcome, type Target } from './target.js';

/** A call stream the peer opened: read its CALL record, then admit it in the order streams were opened. */
export function serveCallStream(link: Link, stream: DuplexEnds): void {
  link.enter(new InboundCall(link, stream.sender, stream.receiver));
}

/** What reading a call stream's caller half came to. */
enum Read {
  /** No CALL record yet. */
  Waiting,
  /** The CALL record is read and valid. */
  Call,
  /** The caller's half failed or was malformed: answer the error. */
  Failed,
  /** The stream is gone (reset, connection lost): nobody to answer. */
  Gone,
}

/** The caller's half of a call stream: exactly one CALL record, then FIN. */
class InboundCall implements Admission, ReceiverObserver<unknown> {
  private state = Read.Waiting;
  private call: ParsedCall | undefined;
  private placed: readonly unknown[] | undefined;
  private failure: RpcError | undefined;

  constructor(
    private readonly link: Link,
    private readonly reply: Sender<unknown>,
    private readonly receiver: Receiver<unknown>,
  ) {}

  get ready(): boolean {
    return this.state !== Read.Waiting;
  }

  read(): void {
    this.receiver.consume(this);
  }

  next(message: unknown): void {
    const placed = this.link.ends.take();
    if (this.state !== Read.Waiting) {
      // One record per call: anything more breaks the protocol. The stream is reset (the call, if it
      // runs, sees CANCELLED); what the record carried is released.
      releasePlaced(placed, true);
      this.receiver.cancel();
      return;
    }
    try {
      this.call = parseCall(message, false);
      this.placed = placed;
      this.state = Read.Call;
    } catch (err) {
      releasePlaced(placed, true);
      this.failure = toRpcError(err, 'INVALID_ARGUMENT');
      this.state = Read.Failed;
    }
    this.link.advance();
  }

  error(err: unknown): void {
    if (this.state !== Read.Waiting) return; // after the CALL, the reply channel tells the served call
    if (isTransportError(err, 'STREAM_RESET') || isSessionEnd(err)) {
      this.state = Read.Gone;
    } else {
      this.failure = unreadable(err);
      this.state = Read.Failed;
    }
    this.link.advance();
  }

  complete(): void {
    if (this.state !== Read.Waiting) return;
    this.failure = rpcError(
      'INVALID_ARGUMENT',
      'malformed call: the call stream ended without a CALL record',
    );
    this.state = Read.Failed;
    this.link.advance();
  }

  admit(): void {
    try {
      if (this.state === Read.Call) serveCall(this.link, undefined, this.call!, this.reply, this.placed);
      else if (this.state === Read.Failed) answerError(this.link, this.reply, this.failure);
    } catch (bug) {
      this.link.core.report(bug);
    }
  }
}

/** A record on the caller's half could not be read: what the caller is told. */
function unreadable(err: unknown): RpcError {
  if (isTransportError(err, 'MESSAGE_TOO_LARGE') || isTransportError(err, 'REFERENCE_LIMIT')) {
    return rpcError('RESOURCE_EXHAUSTED', `the call cannot be read: ${err.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return rpcError('INVALID_ARGUMENT', `malformed call: ${message}`, { cause: err });
}

function isSessionEnd(err: unknown): boolean {
  return (
    isTransportError(err, 'SESSION_CLOSED') ||
    isTransportError(err, 'CONNECTION_LOST') ||
    isTransportError(err, 'GO_AWAY')
  );
}

/**
 * Serve the calls the peer writes on `receiver`, the channel of a ref or callback this node passed,
 * with `target`, until it ends. The link keeps the channel so its close can end it.
 */
export function serveChannel(link: Link, receiver: Receiver<unknown>, target: Target): void {
  if (!link.serve(receiver)) {
    receiver.cancel();
    return;
  }
  receiver.consume({
    next(message) {
      const placed = link.ends.take();
      let call: ParsedCall;
      try {
        call = parseCall(message, true);
      } catch (err) {
        const reply = replyOf(message);
        if (reply) answerError(link, reply, err);
        releasePlaced(placed, true);
        return;
      }
      try {
        serveCall(link, target, call, call.reply!, placed);
      } catch (bug) {
        link.core.report(bug);
      }
    },
    // The channel ended (the peer released it, or the connection ended): calls already read go on.
    error: () => link.unserve(receiver),
    complete: () => link.unserve(receiver),
  });
}

/** A call by name: its actor, looked up per call (it may be registered later); keyed with a key. */
function targetOf(link: Link, call: ParsedCall): Target {
  const cell = link.core.lookup(call.actor!);
  if (!cell) throw rpcError('NOT_FOUND', `no actor named ${call.actor}`);
  return call.key === undefined ? cellTarget(cell) : keyedTarget(cell);
}

function serveCall(
  link: Link,
  where: Target | undefined,
  call: ParsedCall,
  reply: Sender<unknown>,
  placed: readonly unknown[] | undefined,
): void {
  if (!link.beginServe()) {
    const max = link.core.config.maxCallsPerConnection;
    answerError(
      link,
      reply,
      rpcError('RESOURCE_EXHAUSTED', `${max} calls in progress (maxCallsPerConnection)`),
    );
    releasePlaced(placed, true);
    return;
  }
  let target: Target;
  try {
    target = where ?? targetOf(link, call);
    target.admit(call.method, link.caller);
  } catch (err) {
    link.endServe();
    answerError(link, reply, err);
    releasePlaced(placed, true);
    return;
  }
  new ServedCall(link, target, call, reply, placed).start(call.args);
}

/**
 * One call being served, from its admission to its end: the scope of its deadline and cancellation (it
 * IS the CallScope), where the target's outcome goes, and the reader of its demand channel when the
 * result is a stream. One object per call, with methods rather than closures, since every call makes
 * one.
 */
class ServedCall extends CallScope implements Outcome, ReceiverObserver<unknown>, PumpDone, PumpOwner {
  /** Set once something was (or will be) written on the reply channel, or nothing may be. */
  private answered = false;
  /** Cleared when the handler's result was taken: what the call carried is the handler's from then on. */
  private failed = true;
  /** Set by {@link end}, which runs once. */
  private finished = false;
  /** The deadline is the actor's default, which does not bound a stream result. */
  private readonly unaryDeadline: boolean;
  /** A stream result waiting for the caller's demand; then being pumped. */
  private source: object | undefined;
  private demand: Receiver<unknown> | undefined;
  private pumping = false;
  /** Why the call failed (what its caller was, or would have been, told); undefined: it succeeded. */
  private failure: unknown = undefined;
  rosterOf: Roster<RosterEntry> | undefined = undefined;
  rosterPrev: RosterEntry | undefined = undefined;
  rosterNext: RosterEntry | undefined = undefined;

  constructor(
    private readonly link: Link,
    private readonly target: Target,
    call: ParsedCall,
    private readonly reply: Sender<unknown>,
    private readonly placed: readonly unknown[] | undefined,
    defaults = target.defaultTimeout(call.method),
  ) {
    super(link.caller, target.actor, call.method, call.timeoutMs ?? defaults.ms, call.metadata);
    this.unaryDeadline = call.timeoutMs === undefined && defaults.unaryOnly;
    this.key = call.key;
    this.intercept(link.core.interceptors.server);
  }

  /** Dispatch the call with `args` (kept only by the handler from here on). */
  start(args: unknown[]): void {
    this.link.watch(this);
    bindCallbacks(this.placed, this);
    try {
      this.target.dispatch(this.method, args, this, this);
    } catch (err) {
      this.reject(err);
    }
    // A call that ended already (a handler that returned a value, at once) needs no watch on its reply
    // channel; one that goes on learns from it that the caller cancelled.
    if (!this.finished) this.reply.onClosed(this);
  }

  /** The reply channel closed (Sender.onClosed): with an error, nobody will read the answer. */
  channelClosed(err: TransportError | undefined): void {
    if (err === undefined) return;
    if (isTransportError(err, 'CHANNEL_CANCELLED')) this.cancel();
    else this.abort(toRpcError(err));
  }

  /**
   * Our own deadline is answered, and so is an abort by this node (UNAVAILABLE: the system is closing),
   * so the caller learns at once; a cancelled or lost call stream has nobody to answer (writing on it
   * does nothing).
   */
  protected override whenAborted(reason: RpcError): void {
    this.failure ??= reason;
    if (!this.answered && (this.expired || reason.code === 'UNAVAILABLE')) {
      answerError(this.link, this.reply, reason);
    }
    this.answered = true;
    // A stream the caller never asked for has no pump to end the call.
    if (this.source !== undefined && !this.pumping) {
      if (this.expired) this.reply.error(reason.code, reason.message);
      this.end();
    }
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
    if (isStreamLike(result)) this.park(result);
    else this.sendOne(result === undefined ? {} : { v: result });
  }

  /**
   * The one record of a value reply, then FIN, then the end of the call. A value that cannot be sent
   * (ENCODE_ERROR, MESSAGE_TOO_LARGE) is answered with its error instead; a reply channel that is gone
   * (cancelled, connection lost) is left.
   */
  private sendOne(message: unknown): void {
    const reply = this.reply;
    try {
      reply.write(message);
      reply.close();
    } catch (err) {
      this.failure = err;
      answerError(this.link, reply, err);
    }
    this.end();
  }

  /**
   * A stream result: say so, with a demand channel, and subscribe to the source only when the caller
   * ends that channel (it subscribed). The actor's default deadline does not bound a stream.
   */
  private park(source: object): void {
    if (this.unaryDeadline) this.dropDeadline();
    const demand = new Receiver<unknown>();
    this.source = source;
    this.demand = demand;
    try {
      this.reply.write({ s: demand });
    } catch (err) {
      this.failure = err;
      this.source = undefined;
      answerError(this.link, this.reply, err);
      this.end();
      return;
    }
    this.link.core.counters.streamsOut++;
    demand.consume(this);
  }

  /** The demand channel (ReceiverObserver): its end is the caller's go. */
  next(): void {}

  error(): void {
    // The caller reset the demand channel without asking for the items: it gave up.
    if (!this.pumping) this.cancel();
  }

  complete(): void {
    if (this.pumping || this.source === undefined || this.aborted) return;
    this.pumping = true;
    // The demand channel has done its job: let go of it (and of its closed stream) for the stream's life.
    this.demand = undefined;
    this.streamOut(this.source);
  }

  /** Pump the stream result into the reply channel, with the method's buffer and overflow policy. */
  private streamOut(source: object): void {
    const { config, stats } = this.link.core;
    const per = this.target.streamOptions(this.method);
    const options: PumpOptions = {
      buffer: per.buffer ?? config.streamBuffer,
      bytes: this.link.pushBytes,
      overflow: per.overflow ?? config.overflow,
      errors: this.link.core,
      owner: this,
      signal: this,
      stats,
    };
    const reply = this.reply;
    if (isObservable(source)) {
      startPushPump(source, reply, options, this);
      return;
    }
    pumpIterable(source as AsyncIterable<unknown>, reply, options).then(
      (end) => this.pumpEnded(end),
      (err: unknown) => this.reject(err),
    );
  }

  /** The pump's sink was sent `error` (PumpOwner). */
  pumpFailed(error: RpcError): void {
    this.failure ??= error;
  }

  /** The stream's pump ended (PumpDone). */
  pumpEnded(end: PumpEnd): void {
    // A deadline during the stream: the scope's abort handler cannot answer (the stream had begun).
    const reason = this.reason;
    if (end === 'cancelled') this.failure ??= reason ?? rpcError('CANCELLED', 'the stream was cancelled');
    if (end === 'cancelled' && reason?.code === 'DEADLINE_EXCEEDED' && this.expired) {
      this.reply.error(reason.code, reason.message);
    }
    this.end();
  }

  /** The handler failed, or the call could not run: answer with the reason, then end. Never throws. */
  reject(err: unknown): void {
    this.failure ??= this.reason ?? err;
    try {
      if (!this.answered) {
        this.answered = true;
        answerError(this.link, this.reply, this.reason ?? err, this.errorWhere());
      }
    } catch (bug) {
      this.link.core.report(bug);
    }
    this.end();
  }

  /** Where this call's errors come from, for `onError` (made for an error reply, or once per stream result). */
  /** Where this call's errors come from, for `onError` (PumpOwner). */
  errorWhere(): ErrorWhere {
    return { actor: this.actor, method: this.method, peer: this.link.caller };
  }

  /** Once: stop the deadline, release what the call holds, and count it out of the connection. */
  private end(): void {
    if (this.finished) return;
    this.finished = true;
    try {
      this.dispose();
      this.link.unwatch(this);
      this.demand?.cancel();
      releasePlaced(this.placed, this.failed);
    } catch (bug) {
      this.link.core.report(bug);
    } finally {
      this.link.endServe();
    }
    const stream = this.source !== undefined;
    // The code the caller got (a mapped domain error, or INTERNAL for an unexpected one), unmasked.
    const error =
      this.failure === undefined ? undefined : errorToLocal(this.failure, this.link.core.mapError);
    this.link.core.counters.servedEnd(error, stream);
    if (this.endHeard) {
      const end: CallEnd = error === undefined ? { code: 'OK', stream } : { code: error.code, error, stream };
      this.ended(end, this.link.core.report);
    }
  }
}

/**
 * Answer `reply` with `err` as an ERROR record (see PROTOCOL.md 5.3, 5.6); never throws. An error that is
 * not an RpcError is masked and reported, with `where` (error-policy.ts).
 */
function answerError(link: Link, reply: Sender<unknown>, err: unknown, where?: ErrorWhere): void {
  const e = errorToWire(err, link.core, where ?? { peer: link.caller });
  reply.error(e.code, e.message, e.details);
}
