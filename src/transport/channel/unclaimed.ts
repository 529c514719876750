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
 * Entries are the ports themselves (the preface they were opened with is on the port). Live entries are
 * two parallel arrays searched linearly rather than a Map: a call adds and removes one entry, and a Map
 * under that churn reallocates its table every few insertions, while these arrays keep their capacity.
 * They hold at most `maxUnclaimedStreams` entries (256 by default) and usually one or two.
 */
export class UnclaimedTable {
  private readonly liveIds: number[] = [];
  private readonly livePorts: StreamPort[] = [];
  /** Reset before being claimed; rare, so a Map (insertion order gives the oldest). */
  private readonly dead = new Map<number, StreamPort>();
  /** The one orphan-close callback every live entry's port gets. */
  private readonly onDied = (port: StreamPort): void => this.died(port.id);

  /** @param limit maxUnclaimedStreams */
  constructor(private readonly limit: number) {}

  /** Live entries: what counts toward the limit. */
  get size(): number {
    return this.liveIds.length;
  }

  /** Add a nested stream the peer just opened (its preface read). False when the table is full (the
   *  caller resets it). */
  add(port: StreamPort): boolean {
    if (this.liveIds.length >= this.limit) return false;
    this.liveIds.push(port.id);
    this.livePorts.push(port);
    port.onOrphanClose = this.onDied;
    return true;
  }

  get(id: number): StreamPort | undefined {
    const i = this.liveIds.indexOf(id);
    if (i >= 0) return this.livePorts[i];
    return this.dead.get(id);
  }

  /** The entry is claimed (or rejected): it leaves the table. */
  delete(id: number): void {
    const port = this.removeLive(id);
    if (port !== undefined) {
      port.onOrphanClose = undefined;
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
    this.liveIds.length = 0;
    this.livePorts.length = 0;
    this.dead.clear();
  }

  /** Take a live entry out (the last one moves into its place: order does not matter). */
  private removeLive(id: number): StreamPort | undefined {
    const ids = this.liveIds;
    const i = ids.indexOf(id);
    if (i < 0) return undefined;
    const ports = this.livePorts;
    const port = ports[i]!;
    const last = ids.length - 1;
    ids[i] = ids[last]!;
    ports[i] = ports[last]!;
    ids.pop();
    ports.pop();
    return port;
  }

  private died(id: number): void {
    const port = this.removeLive(id);
    if (port === undefined) return;
    this.dead.set(id, port);
    if (this.dead.size > this.limit) this.dead.delete(this.dead.keys().next().value!);
  }
}
