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
import type { Preface } from './preface.js';

export interface Unclaimed {
  readonly port: StreamPort;
  readonly preface: Preface;
}

export class UnclaimedTable {
  private readonly live = new Map<number, Unclaimed>();
  private readonly dead = new Map<number, Unclaimed>();

  /** @param limit maxUnclaimedStreams */
  constructor(private readonly limit: number) {}

  /** Live entries: what counts toward the limit. */
  get size(): number {
    return this.live.size;
  }

  /** Add a nested stream the peer just opened. False when the table is full (the caller resets it). */
  add(port: StreamPort, preface: Preface): boolean {
    if (this.live.size >= this.limit) return false;
    this.live.set(port.id, { port, preface });
    port.onOrphanClose = () => this.died(port.id);
    return true;
  }

  get(id: number): Unclaimed | undefined {
    return this.live.get(id) ?? this.dead.get(id);
  }

  /** The entry is claimed (or rejected): it leaves the table. */
  delete(id: number): void {
    const entry = this.live.get(id) ?? this.dead.get(id);
    if (entry !== undefined) entry.port.onOrphanClose = undefined;
    this.live.delete(id);
    this.dead.delete(id);
  }

  /** The session ended. */
  clear(): void {
    this.live.clear();
    this.dead.clear();
  }

  private died(id: number): void {
    const entry = this.live.get(id);
    if (entry === undefined) return;
    this.live.delete(id);
    this.dead.set(id, entry);
    if (this.dead.size > this.limit) this.dead.delete(this.dead.keys().next().value!);
  }
}
