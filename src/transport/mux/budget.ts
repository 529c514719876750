/**
 * A session's memory, counted across all its streams, in both directions.
 *
 * Inbound ({@link ReadBudget}): bytes received and not yet taken by a consumer (a stream's listener is
 * paused, not attached yet, or the stream waits in the accept backlog). Each stream holds at most its
 * window, but windows times streams is large (4096 x 256 KiB by default), so the session also stops
 * reading its socket when the bytes held reach `maxBufferedBytes`: TCP then pushes back on the peer for
 * every stream at once. Reading resumes once consumers bring the count down to half the budget.
 *
 * Outbound ({@link QueueWatch}): callbacks waiting for the bytes queued for writing (streams' unsent
 * bytes, the outbox's batch, the socket's own buffer) to fall to a low-water mark.
 */

/** Counts inbound bytes held by a session's streams; stops and restarts reading at the budget. */
export class ReadBudget {
  /** Bytes received and not yet consumed, all streams together. */
  bytes = 0;
  /** True while reading is stopped because {@link bytes} reached the budget. */
  paused = false;

  /**
   * @param max the budget, bytes (`maxBufferedBytes`): reading stops when `bytes` reaches it...
   * @param stop ...by calling this (must not throw)...
   * @param start ...and restarts, by calling this, once `bytes` is at or below `max / 2`.
   */
  constructor(
    private readonly max: number,
    private readonly stop: () => void,
    private readonly start: () => void,
  ) {}

  /** `n` more bytes are held. */
  add(n: number): void {
    this.bytes += n;
    if (!this.paused && this.bytes >= this.max) {
      this.paused = true;
      this.stop();
    }
  }

  /** `n` held bytes were consumed or dropped. */
  remove(n: number): void {
    this.bytes -= n;
    if (this.paused && this.bytes <= this.max / 2) {
      this.paused = false;
      this.start();
    }
  }
}

interface Watcher {
  lowWater: number;
  listener: () => void;
}

/**
 * Callbacks waiting for a session's queued outbound bytes to fall to a low-water mark. The session calls
 * {@link check} whenever the count may have fallen (a socket write completed, 'drain', a stream dropped
 * its unsent bytes); each listener is called once, outside the caller's stack (queueMicrotask), and an
 * exception it throws is reported as uncaught, never thrown into the session.
 */
export class QueueWatch {
  private watchers: Watcher[] = [];

  /** True when somebody waits (the session then asks the socket to report each completed write). */
  get waiting(): boolean {
    return this.watchers.length > 0;
  }

  /** Adds a watcher; returns the function that removes it. */
  add(lowWater: number, listener: () => void): () => void {
    const w: Watcher = { lowWater, listener };
    this.watchers.push(w);
    return () => {
      const i = this.watchers.indexOf(w);
      if (i >= 0) this.watchers.splice(i, 1);
    };
  }

  /** Calls (once) and removes every watcher whose low-water mark `queued` is at or below. */
  check(queued: number): void {
    if (this.watchers.length === 0) return;
    const due = this.watchers.filter((w) => queued <= w.lowWater);
    if (due.length === 0) return;
    this.watchers = this.watchers.filter((w) => queued > w.lowWater);
    for (const w of due) queueMicrotask(w.listener);
  }

  /** The session ended: nobody is called any more. */
  clear(): void {
    this.watchers = [];
  }
}
