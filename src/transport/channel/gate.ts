/**
 * ReferenceGate: keeps the SYNs of nested streams from running ahead of the records that name them.
 *
 * A message's reference streams are opened (SYN queued) right before its record is written. When the
 * record then waits in the multiplexer for the channel's send window, its SYNs have gone out and the peer
 * reads them long before the record: a burst of such messages made the peer hold more unnamed streams
 * than its maxUnclaimedStreams, and it reset the rest. The gate lets a message open its streams only when
 * nothing waits before it on its stream, and while the references of records still waiting for window
 * ("ahead") stay within maxUnclaimedStreams (the peer's limit is taken to be ours: the default, 256, on
 * both sides). A message that may not open waits in its Sender, encoded, until the gate wakes it.
 *
 * The multiplexer has no event for "this stream's queue is empty", so while anything is ahead or waiting
 * the gate looks again on a timer, from 1 ms doubling to {@link GATE_MAX_POLL_MS} while nothing moves (a
 * peer that stopped reading costs a few wakeups a second, not a spinning loop). This is the slow path of
 * a burst; a message whose record goes out at once never arms the timer.
 */
import type { StreamPort } from './port.js';

/** Longest pause between two looks while a blocked record makes no progress, ms. */
export const GATE_MAX_POLL_MS = 32;

/** A Sender holding messages back; woken to try again. */
export interface GateWaiter {
  /** Write what may go now; true when nothing is held any more. */
  retry(): boolean;
}

export class ReferenceGate {
  /** References in records written but still (partly) queued in the multiplexer. */
  private ahead = 0;
  /** The ports of those records and how many references each record carried (same order, parallel). */
  private blockedPorts: StreamPort[] = [];
  private blockedCounts: number[] = [];
  private waiters: GateWaiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private delay = 1;
  /** Records with references written so far: progress the poll can see. */
  private writes = 0;

  /** @param limit the most references allowed ahead (maxUnclaimedStreams) */
  constructor(private readonly limit: number) {}

  /** References now ahead of their records (for specs and diagnostics). */
  get referencesAhead(): number {
    return this.ahead;
  }

  /**
   * May a record carrying `references` open its streams and be written on `port` now? Only when nothing
   * is queued before it on the stream, and the references ahead stay within the limit (a record with more
   * references than the limit may go alone, when nothing is ahead).
   */
  mayOpen(port: StreamPort, references: number): boolean {
    if (port.stream.queuedBytes > 0) return false;
    return this.ahead === 0 || this.ahead + references <= this.limit;
  }

  /** A record carrying `references` was just written on `port`: count them ahead if it did not all go out. */
  written(port: StreamPort, references: number): void {
    this.writes++;
    if (port.isClosed || port.stream.queuedBytes === 0) return;
    this.ahead += references;
    this.blockedPorts.push(port);
    this.blockedCounts.push(references);
    this.arm();
  }

  /** `waiter` holds messages the gate refused; it is retried until it has none. */
  wait(waiter: GateWaiter): void {
    if (!this.waiters.includes(waiter)) this.waiters.push(waiter);
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.poll(), this.delay);
    this.timer.unref?.(); // a browser timer is a number: nothing to unref
  }

  private poll(): void {
    this.timer = undefined;
    const writesBefore = this.writes;
    let moved = false;
    // Records that went out (or whose stream is gone) no longer hold their references ahead.
    const ports = this.blockedPorts;
    const counts = this.blockedCounts;
    let kept = 0;
    for (let i = 0; i < ports.length; i++) {
      const port = ports[i]!;
      if (port.isClosed || port.stream.queuedBytes === 0) {
        this.ahead -= counts[i]!;
        moved = true;
      } else {
        ports[kept] = port;
        counts[kept++] = counts[i]!;
      }
    }
    ports.length = kept;
    counts.length = kept;
    // Then each waiting sender, oldest first, writes what it may now.
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      let done = false;
      try {
        done = w.retry();
      } catch {
        done = true; // a sender that fails has rejected its own messages
      }
      if (done) moved = true;
      else if (!this.waiters.includes(w)) this.waiters.push(w);
    }
    if (this.writes !== writesBefore) moved = true;
    this.delay = moved ? 1 : Math.min(this.delay * 2, GATE_MAX_POLL_MS);
    if (this.blockedPorts.length > 0 || this.waiters.length > 0) this.arm();
    else this.delay = 1;
  }
}
