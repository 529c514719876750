/**
 * Inbound streams waiting to be accepted, and accept() calls waiting for a stream. A stream that closes
 * while it waits leaves the queue (its onClose still reaches the listener attached later).
 */
import type { TransportError } from '../errors.js';
import type { Stream } from './stream.js';

interface Waiter {
  resolve: (s: Stream) => void;
  reject: (err: TransportError) => void;
}

export class AcceptQueue {
  /** Insertion-ordered, with O(1) removal of a stream that closes while waiting. */
  private readonly backlog = new Set<Stream>();
  private waiters: Waiter[] = [];

  /** Streams waiting (the backlog). */
  get size(): number {
    return this.backlog.size;
  }

  /** True when an accept() call is waiting, so a new stream goes to it directly. */
  get hasWaiter(): boolean {
    return this.waiters.length > 0;
  }

  /** Hands `s` to the oldest waiting accept(), or queues it. */
  add(s: Stream): void {
    const w = this.waiters.shift();
    if (w !== undefined) w.resolve(s);
    else this.backlog.add(s);
  }

  delete(s: Stream): void {
    // Every stream that closes comes here; most never waited (onStream took them).
    if (this.backlog.size > 0) this.backlog.delete(s);
  }

  /** The oldest waiting stream, or a promise of the next one. */
  next(): Promise<Stream> {
    for (const s of this.backlog) {
      this.backlog.delete(s);
      return Promise.resolve(s);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The session ended: drop the backlog, reject every waiting accept(). */
  fail(err: TransportError): void {
    this.backlog.clear();
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}
