/**
 * One connection as the actor layer sees it: its channel session, the peer as a caller, the calls this
 * node made on it (the pending-call table), the calls it serves for the peer, and the mailbox channels
 * open on it both ways. When the connection ends, every pending call fails with UNAVAILABLE, and every
 * served call's signal aborts (UNAVAILABLE).
 */
import type { ChannelSession, Receiver, Sender } from '../transport/channel/index.js';
import type { Connection } from '../transport/connection/index.js';
import type { ActorCell } from './cell.js';
import type { ActorsConfig } from './config.js';
import { type Caller, callerOf } from './context.js';
import { type RpcError, rpcError, toRpcError } from './errors.js';
import type { PumpStats } from './pump.js';
import { Roster, type RosterEntry } from './roster.js';
import type { OpenMessage } from './wire.js';

/** What every connection of a system shares with it. */
export interface Core {
  readonly config: ActorsConfig;
  readonly stats: PumpStats;
  /** Where failures nobody else can see go (a failed onStart, a reply that could not be written). */
  report(err: unknown): void;
  /** A hosted actor by name. */
  lookup(name: string): ActorCell | undefined;
}

/** A call this node made on the link, as the link needs to end it. */
export interface PendingCall extends RosterEntry {
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

export class Link {
  /** The peer, as the caller of this node's actors. */
  readonly caller: Caller;
  private readonly pending = new Roster<PendingCall>();
  private readonly mailboxes = new Map<string, Sender<unknown>>();
  /** Calls served for the peer: one roster, not one 'abort' listener per call on a shared signal. */
  private readonly scopes = new Roster<ServedScope>();
  /** Mailbox channels we read calls from: top-level ones the peer opened, refs and callbacks we passed. */
  private readonly served = new Set<Receiver<unknown>>();
  /** Mailbox channels of refs the peer passed us, which we keep until released, collected or closed. */
  private readonly held = new Set<Sender<unknown>>();
  /** Reply channels of calls expired here, waiting for the callee's deadline (see {@link linger}). */
  private readonly lingering = new Map<Receiver<unknown>, NodeJS.Timeout>();
  private servedCalls = 0;
  private endReason: RpcError | undefined;
  /** close() has begun: no new mailboxes are served once it has cancelled the others. */
  private closing: Promise<void> | undefined;
  private servingClosed = false;
  private onIdle: (() => void) | undefined;
  /** Mailbox channels in {@link served} that serve a ref or callback we passed (not top-level ones). */
  private readonly passed = new Set<Receiver<unknown>>();
  /** Calls begun either way, ever: the idle check sees calls that began and ended between two ticks. */
  private activity = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly core: Core,
    readonly connection: Connection,
    readonly channels: ChannelSession,
  ) {
    this.caller = callerOf(connection.peer);
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

  /** Calls this node made on the link that have not ended. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Calls the peer has in progress here. */
  get servedCount(): number {
    return this.servedCalls;
  }

  /** Register a call about to be sent. Throws UNAVAILABLE (link closed) or RESOURCE_EXHAUSTED (limit). */
  begin(call: PendingCall): void {
    if (this.endReason !== undefined) throw this.endReason;
    const max = this.core.config.maxPendingCalls;
    if (max > 0 && this.pending.size >= max) {
      throw rpcError(
        'RESOURCE_EXHAUSTED',
        `${max} calls already pending on this connection (maxPendingCalls)`,
      );
    }
    this.pending.add(call);
    this.activity++;
  }

  end(call: PendingCall): void {
    this.pending.delete(call);
    if (this.onIdle !== undefined) this.checkIdle();
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

  /**
   * A mailbox channel we serve (`passed`: of a ref or callback we passed, which keeps the link from
   * idling out); false when the link is closing and it should be cancelled at once.
   */
  serve(receiver: Receiver<unknown>, passed = false): boolean {
    if (this.servingClosed || this.endReason !== undefined) return false;
    this.served.add(receiver);
    if (passed) this.passed.add(receiver);
    return true;
  }

  /** A served mailbox channel ended. */
  unserve(receiver: Receiver<unknown>): void {
    this.served.delete(receiver);
    this.passed.delete(receiver);
  }

  /** Keep the mailbox channel of a ref the peer passed us, so close() can end it. */
  hold(mailbox: Sender<unknown>): void {
    if (this.servingClosed || this.endReason !== undefined) mailbox.close();
    else this.held.add(mailbox);
  }

  /** Close the mailbox channel of a ref we held (released or collected). */
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
    timer.unref();
    this.lingering.set(reply, timer);
  }

  /**
   * The mailbox channel to `actor` on this link, opened on first use (its first message names the actor).
   * A mailbox that ends (the peer cancelled it) is forgotten, so the next call opens a new one.
   */
  mailbox(actor: string): Sender<unknown> {
    let sender = this.mailboxes.get(actor);
    if (!sender) {
      const opened = this.channels.open<unknown>();
      sender = opened;
      this.mailboxes.set(actor, opened);
      const open: OpenMessage = { n: actor };
      opened.send(open).catch(() => {});
      void opened.closed.then(() => {
        if (this.mailboxes.get(actor) === opened) this.mailboxes.delete(actor);
      });
    }
    return sender;
  }

  /**
   * Graceful, in three steps: end our top-level mailbox channels and start the multiplexer's close
   * (GoAway: the peer opens no new streams; it waits, up to its closeTimeoutMs, for open ones); wait for
   * the calls in progress both ways (ours pending on the peer, the peer's served here) to end; then end
   * at once every mailbox channel still open — those we serve (the peer's refs to our actors see
   * UNAVAILABLE on their next call; a ref by name dials again) and the refs the peer passed us — so the
   * multiplexer waits only for streams still carrying data, such as byte streams. Idle mailboxes never
   * hold a close up. The caller bounds the whole (see closeLink in client.ts).
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
    for (const sender of this.mailboxes.values()) sender.close();
    this.mailboxes.clear();
    for (const [reply, timer] of this.lingering) {
      clearTimeout(timer);
      reply.cancel();
    }
    this.lingering.clear();
    // GoAway now: the peer opens no new streams (no new calls, no new mailboxes); open ones go on.
    const closed = this.channels.close();
    await new Promise<void>((resolve) => {
      this.onIdle = resolve;
      this.checkIdle();
    });
    this.onIdle = undefined;
    this.servingClosed = true;
    for (const receiver of [...this.served]) receiver.cancel();
    this.served.clear();
    this.passed.clear();
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
          this.pending.size > 0 ||
          this.servedCalls > 0 ||
          this.held.size > 0 ||
          this.passed.size > 0 ||
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
    this.idleTimer.unref();
  }

  private checkIdle(): void {
    if (this.endReason !== undefined || (this.pending.size === 0 && this.servedCalls === 0)) this.onIdle?.();
  }

  private ended(err: unknown): void {
    if (this.endReason !== undefined) return;
    const reason = rpcError(
      'UNAVAILABLE',
      err ? `connection lost: ${toRpcError(err).message}` : 'connection closed',
      err ? { cause: err } : undefined,
    );
    this.endReason = reason;
    clearInterval(this.idleTimer);
    for (const call of this.pending.takeAll()) call.fail(reason);
    for (const scope of this.scopes.takeAll()) scope.abort(reason);
    this.mailboxes.clear();
    this.served.clear();
    this.passed.clear();
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
