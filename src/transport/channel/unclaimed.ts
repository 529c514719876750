/**
 * The nested streams the peer opened that no message has named yet, by stream id.
 *
 * Live entries (streams still open) count toward `maxUnclaimedStreams`; the session resets a new nested
 * stream when they are at the limit. An entry whose stream the peer resets before any message names it
 * becomes dead: it stops counting, and stays claimable (the end it gives is already reset, which is what
 * a legitimate opener that gave up means), among the last `maxUnclaimedStreams` dead entries; older ones
 * are forgotten, so a peer that opens and resets streams endlessly cannot grow this table.
 */
import type { StreamPort } from './port.js';

/**
 * Entries are the ports themselves (the preface they were opened with is on the port): no object or
 * closure per entry.
 */
export class UnclaimedTable {
  private readonly live = new Map<number, StreamPort>();
  private readonly dead = new Map<number, StreamPort>();
  /** The one orphan-close callback every live entry's port gets. */
  private readonly onDied = (port: StreamPort): void => this.died(port.id);

  /** @param limit maxUnclaimedStreams */
  constructor(private readonly limit: number) {}

  /** Live entries: what counts toward the limit. */
  get size(): number {
    return this.live.size;
  }

  /** Add a nested stream the peer just opened (its preface read). False when the table is full (the
   *  caller resets it). */
  add(port: StreamPort): boolean {
    if (this.live.size >= this.limit) return false;
    this.live.set(port.id, port);
    port.onOrphanClose = this.onDied;
    return true;
  }

  get(id: number): StreamPort | undefined {
    return this.live.get(id) ?? this.dead.get(id);
  }

  /** The entry is claimed (or rejected): it leaves the table. */
  delete(id: number): void {
    const port = this.live.get(id);
    if (port !== undefined) {
      port.onOrphanClose = undefined;
      this.live.delete(id);
      return;
    }
    const dead = this.dead.get(id);
    if (dead !== undefined) {
      dead.onOrphanClose = undefined;
      this.dead.delete(id);
    }
  }

  /** The session ended. */
  clear(): void {
    this.live.clear();
    this.dead.clear();
  }

  private died(id: number): void {
    const port = this.live.get(id);
    if (port === undefined) return;
    this.live.delete(id);
    this.dead.set(id, port);
    if (this.dead.size > this.limit) this.dead.delete(this.dead.keys().next().value!);
  }
}
