/**
 * One connection as the actor layer sees it: its channel session, the peer as a caller, the calls this
 * node made on it (the pending-call table) and the calls it serves for the peer. When the connection
 * ends, every pending call fails with UNAVAILABLE, and every served call's signal aborts.
 */
import type { ChannelSession, Sender } from '../transport/channel/index.js';
import type { Connection } from '../transport/connection/index.js';
import type { ActorCell } from './cell.js';
import type { ActorsConfig } from './config.js';
import { type Caller, callerOf } from './context.js';
import { type RpcError, rpcError, toRpcError } from './errors.js';
import type { PumpStats } from './pump.js';
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
export interface PendingCall {
  fail(err: RpcError): void;
}

export class Link {
  /** The peer, as the caller of this node's actors. */
  readonly caller: Caller;
  private readonly pending = new Set<PendingCall>();
  private readonly mailboxes = new Map<string, Sender<unknown>>();
  private readonly controller = new AbortController();
  private servedCalls = 0;

  constructor(
    readonly core: Core,
    readonly connection: Connection,
    readonly channels: ChannelSession,
  ) {
    this.caller = callerOf(connection.peer);
    void channels.closed.then((err) => this.ended(err));
  }

  /** Aborts when the connection ends; its reason is an RpcError UNAVAILABLE. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get isClosed(): boolean {
    return this.controller.signal.aborted;
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
    if (this.isClosed) throw this.controller.signal.reason as RpcError;
    const max = this.core.config.maxPendingCalls;
    if (max > 0 && this.pending.size >= max) {
      throw rpcError(
        'RESOURCE_EXHAUSTED',
        `${max} calls already pending on this connection (maxPendingCalls)`,
      );
    }
    this.pending.add(call);
  }

  end(call: PendingCall): void {
    this.pending.delete(call);
  }

  /** Count a call the peer made; false (and nothing counted) when the peer is at maxCallsPerConnection. */
  beginServe(): boolean {
    const max = this.core.config.maxCallsPerConnection;
    if (max > 0 && this.servedCalls >= max) return false;
    this.servedCalls++;
    return true;
  }

  endServe(): void {
    this.servedCalls--;
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
   * Graceful: end our mailbox channels, refuse new streams, let open ones finish (up to the
   * multiplexer's closeTimeoutMs).
   */
  close(): Promise<void> {
    for (const sender of this.mailboxes.values()) sender.close();
    this.mailboxes.clear();
    return this.channels.close();
  }

  /** Cut the connection now. */
  destroy(): void {
    this.channels.destroy();
  }

  private ended(err: unknown): void {
    if (this.isClosed) return;
    const reason = rpcError(
      'UNAVAILABLE',
      err ? `connection lost: ${toRpcError(err).message}` : 'connection closed',
      err ? { cause: err } : undefined,
    );
    this.controller.abort(reason);
    for (const call of [...this.pending]) call.fail(reason);
    this.pending.clear();
    this.mailboxes.clear();
  }
}
