/**
 * One connection as the actor layer sees it: its channel session, the peer as a caller, the calls this
 * node made on it (pending, and waiting for a slot), the calls it serves for the peer (in the order
 * their streams were opened), and the channels of refs and callbacks passed across it both ways. When
 * the connection ends, every pending or waiting call fails with UNAVAILABLE, and every served call's
 * signal aborts (UNAVAILABLE).
 */
import type { ChannelSession, Receiver, Sender } from '../transport/channel/index.js';
import type { Connection } from '../transport/connection/index.js';
import type { HostedActor } from './callee/hosted.js';
import type { ActorsConfig } from './config.js';
import { type Caller, callerOf } from './context.js';
import type { Counters } from './counters.js';
import type { ActorEnds } from './ends.js';
import type { ErrorInfo, ErrorMapper } from './error-policy.js';
import { type RpcError, rpcError, toRpcError } from './errors.js';
import type { InterceptorChains } from './interceptors.js';
import { ByteBudget, type PumpStats } from './pump.js';
import { Roster, type RosterEntry } from './roster.js';

/** What every connection of a system shares with it. */
export interface Core {
  readonly config: ActorsConfig;
  readonly stats: PumpStats;
  /** Calls, streams, connections and bytes, counted (see counters.ts). */
  readonly counters: Counters;
  /** The system's interceptors: served calls run through `server`, calls made through `client`. */
  readonly interceptors: InterceptorChains;
  /**
   * Where failures nobody else can see go (a failed onStart, a reply that could not be written), and the
   * unexpected errors masked on the wire, with their id (error-policy.ts).
   */
  report(err: unknown, info?: ErrorInfo): void;
  /** The system's `mapError` (error-policy.ts). */
  readonly mapError: ErrorMapper | undefined;
  /** A hosted actor by name. */
  lookup(name: string): HostedActor | undefined;
  /**
   * True while the bytes queued for all connections together are above `maxQueuedBytes` and a
   * connection that has `queued` bytes waiting holds more than its share of them (the limit over the
   * number of connections): a connection whose peer reads is not held for the others.
   */
  overQueued(queued: number): boolean;
}

/** How often a connection held by the system-wide queue limit looks again, ms. */
export const QUEUE_RECHECK_MS = 10;

/** A call this node made on the link, as the link needs to start and end it. */
export interface PendingCall extends RosterEntry {
  /** A slot is free: send the call now. */
  send(): void;
  fail(err: RpcError): void;
}

/**
 * How long the reply channel of a call whose deadline passed here is left to the callee, ms: its own
 * timer (armed when the call arrived, so a little after ours) normally ends the call well within this,
 * and its handler then sees its own DEADLINE_EXCEEDED. After it, the channel is cancelled.
 */
export const DEADLINE_GRACE_MS = 1_000;

/** Reply channels left to the callee's deadline per connection; beyond it they are cancelled at once. */
export const MAX_LINGERING = 1_024;

/** A call this node serves for the peer, as the link needs to abort it (see context.ts CallScope). */
export interface ServedScope extends RosterEntry {
  abort(reason: RpcError): void;
}

/** An inbound call stream waiting for its turn to be admitted (see {@link Link.enter}). */
export interface Admission {
  /** Its CALL record has been read (or it failed): it may go once every earlier one went. */
  readonly ready: boolean;
  /** Start reading its CALL record (once). */
  read(): void;
  /** Its turn: dispatch the call (or answer its failure). Never throws. */
  admit(): void;
}

export class Link {
  /** The peer, as the caller of this node's actors. */
  readonly caller: Caller;
  /** What the push streams on this connection may queue, together (streamBufferBytes). */
  readonly pushBytes: ByteBudget;
  /** Calls sent and not ended. */
  private readonly pending = new Roster<PendingCall>();
  /** Calls waiting for a slot (maxPendingCalls), oldest first. */
  private readonly waitingCalls: PendingCall[] = [];
  private waitingHead = 0;
  /** Calls served for the peer: one roster, not one 'abort' listener per call on a shared signal. */
  private readonly scopes = new Roster<ServedScope>();
  /** Inbound call streams in the order they were opened, until admitted (see {@link enter}). */
  private admissions: Admission[] = [];
  private admissionHead = 0;
  /** Admission is held by the queue limits: stops the wait. */
  private holding: (() => void) | undefined;
  /** Call streams that arrived while admission was held: read once it resumes. */
  private unread: Admission[] = [];
  /** Channels we read calls from: callbacks and refs we passed. */
  private readonly served = new Set<Receiver<unknown>>();
  /** Channels of refs the peer passed us, which we keep until released, collected or closed. */
  private readonly held = new Set<Sender<unknown>>();
  /** Reply channels of calls expired here, waiting for the callee's deadline (see {@link linger}). */
  private readonly lingering = new Map<Receiver<unknown>, NodeJS.Timeout>();
  private servedCalls = 0;
  private endReason: RpcError | undefined;
  /** close() has begun: no new mailboxes are served once it has cancelled the others. */
  private closing: Promise<void> | undefined;
  private servingClosed = false;
  private onIdle: (() => void) | undefined;
  /** Calls begun either way, ever: the idle check sees calls that began and ended between two ticks. */
  private activity = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly core: Core,
    readonly connection: Connection,
    readonly channels: ChannelSession,
    /** How refs, callbacks and streams inside values travel on this connection. */
    readonly ends: ActorEnds,
  ) {
    this.caller = callerOf(connection.peer);
    core.counters.connectionsOpened++;
    this.pushBytes = new ByteBudget(core.config.streamBufferBytes);
    void channels.closed.then((err) => this.ended(err));
    if (core.config.idleTimeoutMs > 0) this.watchIdle(core.config.idleTimeoutMs);
  }

  /** Closed, or closing (gracefully or for being idle): no new calls should start on it. */
  get isClosing(): boolean {
    return this.closing !== undefined || this.endReason !== undefined;
  }

  get isClosed(): boolean {
    return this.endReason !== undefined;
  }

  /** Calls this node made on the link that have not ended (sent, or waiting for a slot). */
  get pendingCount(): number {
    return this.pending.size + this.waitingCalls.length - this.waitingHead;
  }

  /** Calls the peer has in progress here. */
  get servedCount(): number {
    return this.servedCalls;
  }

  /**
   * Register a call: it is sent at once (`call.send()` runs before this returns) when fewer than
   * maxPendingCalls are in flight, else it waits for a slot, oldest first. Throws UNAVAILABLE when the
   * link is closed. A waiting call that fails (deadline, signal) leaves with {@link end}.
   */
  begin(call: PendingCall): void {
    if (this.endReason !== undefined) throw this.endReason;
    this.activity++;
    const max = this.core.config.maxPendingCalls;
    if (max > 0 && (this.pending.size >= max || this.waitingHead < this.waitingCalls.length)) {
      this.waitingCalls.push(call);
      return;
    }
    this.pending.add(call);
    call.send();
  }

  /** The call ended (or left the wait): its slot goes to the oldest waiting call. */
  end(call: PendingCall): void {
    if (!this.pending.delete(call)) {
      const at = this.waitingCalls.indexOf(call, this.waitingHead);
      if (at >= 0) this.waitingCalls.splice(at, 1);
    }
    this.startWaiting();
    if (this.onIdle !== undefined) this.checkIdle();
  }

  private startWaiting(): void {
    const max = this.core.config.maxPendingCalls;
    while (this.waitingHead < this.waitingCalls.length && (max === 0 || this.pending.size < max)) {
      const next = this.waitingCalls[this.waitingHead]!;
      this.waitingCalls[this.waitingHead++] = undefined as unknown as PendingCall;
      if (this.waitingHead === this.waitingCalls.length) {
        this.waitingCalls.length = 0;
        this.waitingHead = 0;
      }
      this.pending.add(next);
      next.send();
    }
  }

  /**
   * An inbound call stream, in the order the peer opened them: it is admitted once its CALL record is
   * read and every call opened before it was admitted, so an actor's mailbox gets a caller's calls in
   * the order the caller made them.
   */
  enter(admission: Admission): void {
    this.admissions.push(admission);
    if (this.holding === undefined) admission.read();
    else this.unread.push(admission);
  }

  /**
   * An entered call became ready: admit every ready call at the head, in order, while the bytes queued
   * for the peer stay within the limits (maxConnectionQueuedBytes for this connection, maxQueuedBytes
   * for all); beyond them admission holds, and new call streams are left unread, until the queue drains.
   */
  advance(): void {
    const list = this.admissions;
    while (this.admissionHead < list.length && list[this.admissionHead]!.ready) {
      if (this.holding !== undefined || this.overQueued()) return;
      const next = list[this.admissionHead]!;
      list[this.admissionHead++] = undefined as unknown as Admission;
      next.admit();
    }
    if (this.admissionHead === list.length) {
      this.admissions = [];
      this.admissionHead = 0;
    } else if (this.admissionHead > 1024 && this.admissionHead * 2 > list.length) {
      this.admissions = list.slice(this.admissionHead);
      this.admissionHead = 0;
    }
  }

  /** True when the queue limits hold admission now; then it waits for the queue (see {@link advance}). */
  private overQueued(): boolean {
    const mux = this.channels.mux;
    const limit = this.core.config.maxConnectionQueuedBytes;
    if (limit > 0 && mux.queuedBytes > limit) {
      this.holding = mux.onQueueBelow(limit / 2, () => this.resume());
      return true;
    }
    if (this.core.overQueued(mux.queuedBytes)) {
      const timer = setTimeout(() => this.resume(), QUEUE_RECHECK_MS);
      this.holding = () => clearTimeout(timer);
      return true;
    }
    return false;
  }

  /** The queue drained (or it is time to look again): read what waited, admit what is ready. */
  private resume(): void {
    this.holding = undefined;
    const unread = this.unread;
    this.unread = [];
    for (const a of unread) a.read();
    this.advance();
  }

  /** Count a call the peer made; false (and nothing counted) when the peer is at maxCallsPerConnection. */
  beginServe(): boolean {
    const max = this.core.config.maxCallsPerConnection;
    if (max > 0 && this.servedCalls >= max) return false;
    this.servedCalls++;
    this.activity++;
    return true;
  }

  endServe(): void {
    this.servedCalls--;
    if (this.onIdle !== undefined) this.checkIdle();
  }

  /**
   * A served call's scope, aborted with UNAVAILABLE if the connection ends before {@link unwatch}.
   * When it has already ended, aborted at once.
   */
  watch(scope: ServedScope): void {
    if (this.endReason !== undefined) scope.abort(this.endReason);
    else this.scopes.add(scope);
  }

  unwatch(scope: ServedScope): void {
    this.scopes.delete(scope);
  }

  /** A channel of a ref or callback we passed, whose calls we serve; false when closing (cancel it). */
  serve(receiver: Receiver<unknown>): boolean {
    if (this.servingClosed || this.endReason !== undefined) return false;
    this.served.add(receiver);
    return true;
  }

  /** A served channel ended. */
  unserve(receiver: Receiver<unknown>): void {
    this.served.delete(receiver);
  }

  /** Keep the channel of a ref the peer passed us, so close() can end it. */
  hold(mailbox: Sender<unknown>): void {
    if (this.servingClosed || this.endReason !== undefined) mailbox.close();
    else this.held.add(mailbox);
  }

  /** Close the channel of a ref we held (released or collected). */
  drop(mailbox: Sender<unknown>): void {
    this.held.delete(mailbox);
    mailbox.close();
  }

  /**
   * The reply channel of a call whose deadline passed here: left open for {@link DEADLINE_GRACE_MS} so
   * the callee's own deadline can end it, then cancelled. Cancelled at once when the link is closing,
   * or when {@link MAX_LINGERING} already wait.
   */
  linger(reply: Receiver<unknown>): void {
    if (this.closing !== undefined || this.endReason !== undefined || this.lingering.size >= MAX_LINGERING) {
      reply.cancel();
      return;
    }
    const timer = setTimeout(stopLingering, DEADLINE_GRACE_MS, this.lingering, reply);
    timer.unref?.(); // a browser timer is a number: nothing to unref
    this.lingering.set(reply, timer);
  }

  /**
   * Graceful, in three steps: start the multiplexer's close (GoAway: the peer opens no new streams, so
   * no new calls; open ones go on, up to its closeTimeoutMs); wait for the calls in progress both ways
   * (ours pending on the peer, the peer's served here) to end; then end at once every channel of a ref
   * or callback still open — those we serve (the peer's later calls through them fail UNAVAILABLE) and
   * those the peer passed us — so the multiplexer waits only for streams still carrying data, such as
   * byte streams. The caller bounds the whole (see closeLink in client.ts).
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Cut the connection now. */
  destroy(): void {
    this.channels.destroy();
  }

  private async shutdown(): Promise<void> {
    for (const [reply, timer] of this.lingering) {
      clearTimeout(timer);
      reply.cancel();
    }
    this.lingering.clear();
    const closed = this.channels.close();
    await new Promise<void>((resolve) => {
      this.onIdle = resolve;
      this.checkIdle();
    });
    this.onIdle = undefined;
    this.servingClosed = true;
    for (const receiver of [...this.served]) receiver.cancel();
    this.served.clear();
    for (const sender of this.held) sender.close();
    this.held.clear();
    await closed;
  }

  /**
   * Close the link gracefully once it has been unused (see ActorsConfig.idleTimeoutMs) for four ticks
   * of a quarter of `timeoutMs` each: one unref'd timer per link, and nothing on the call path but a
   * counter.
   */
  private watchIdle(timeoutMs: number): void {
    let seen = this.activity;
    let quiet = 0;
    this.idleTimer = setInterval(
      () => {
        if (this.isClosing) {
          clearInterval(this.idleTimer);
          return;
        }
        const used =
          this.activity !== seen ||
          this.pendingCount > 0 ||
          this.servedCalls > 0 ||
          this.held.size > 0 ||
          this.served.size > 0 ||
          this.lingering.size > 0;
        seen = this.activity;
        quiet = used ? 0 : quiet + 1;
        if (quiet >= 4) {
          clearInterval(this.idleTimer);
          this.close().catch(this.core.report);
        }
      },
      Math.max(1, Math.floor(timeoutMs / 4)),
    );
    this.idleTimer.unref?.(); // a browser timer is a number: nothing to unref
  }

  private checkIdle(): void {
    if (this.endReason !== undefined || (this.pendingCount === 0 && this.servedCalls === 0)) this.onIdle?.();
  }

  private ended(err: unknown): void {
    if (this.endReason !== undefined) return;
    const reason = rpcError(
      'UNAVAILABLE',
      err ? `connection lost: ${toRpcError(err).message}` : 'connection closed',
      err ? { cause: err } : undefined,
    );
    this.endReason = reason;
    const counters = this.core.counters;
    counters.connectionsClosed++;
    counters.closedBytesIn += this.channels.mux.bytesRead;
    counters.closedBytesOut += this.channels.mux.bytesWritten;
    clearInterval(this.idleTimer);
    this.holding?.();
    this.holding = undefined;
    const waiting = this.waitingCalls.slice(this.waitingHead);
    this.waitingCalls.length = 0;
    this.waitingHead = 0;
    for (const call of waiting) call.fail(reason);
    for (const call of this.pending.takeAll()) call.fail(reason);
    for (const scope of this.scopes.takeAll()) scope.abort(reason);
    this.served.clear();
    this.held.clear();
    for (const timer of this.lingering.values()) clearTimeout(timer);
    this.lingering.clear();
    this.onIdle?.();
  }
}

/** A lingering reply channel's grace is over (a shared callback: no closure per call). */
function stopLingering(lingering: Map<Receiver<unknown>, NodeJS.Timeout>, reply: Receiver<unknown>): void {
  lingering.delete(reply);
  reply.cancel();
}
