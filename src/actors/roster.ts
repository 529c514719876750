/**
 * A set of calls in progress, kept as an intrusive doubly-linked list: the links live on the entries
 * themselves, so adding and removing cost no hashing and no allocation. Every call is added when it
 * starts and removed when it ends, on both sides of a connection, so this is on the path of every call
 * (see bench/RESULTS.md for what a Set cost). An entry is on at most one roster.
 */

/** What an entry carries for its roster; initialise all three to undefined. */
export interface RosterEntry {
  rosterOf: Roster<RosterEntry> | undefined;
  rosterPrev: RosterEntry | undefined;
  rosterNext: RosterEntry | undefined;
}

export class Roster<T extends RosterEntry> {
  private head: T | undefined = undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Add `entry` (no-op when it is already on this roster). Throws if it is on another one (a bug). */
  add(entry: T): void {
    if (entry.rosterOf === (this as Roster<RosterEntry>)) return;
    if (entry.rosterOf !== undefined) throw new Error('an entry is on another roster');
    entry.rosterOf = this as Roster<RosterEntry>;
    entry.rosterPrev = undefined;
    entry.rosterNext = this.head;
    if (this.head !== undefined) this.head.rosterPrev = entry;
    this.head = entry;
    this.count++;
  }

  /** Remove `entry`; false when it was not on this roster. */
  delete(entry: T): boolean {
    if (entry.rosterOf !== (this as Roster<RosterEntry>)) return false;
    const { rosterPrev: prev, rosterNext: next } = entry;
    if (prev !== undefined) prev.rosterNext = next;
    else this.head = next as T | undefined;
    if (next !== undefined) next.rosterPrev = prev;
    entry.rosterOf = undefined;
    entry.rosterPrev = undefined;
    entry.rosterNext = undefined;
    this.count--;
    return true;
  }

  /** Remove every entry and return them, oldest first (as a Set iterates), e.g. to fail them all. */
  takeAll(): T[] {
    const out: T[] = [];
    while (this.head !== undefined) {
      const e = this.head;
      this.delete(e);
      out.push(e);
    }
    return out.reverse();
  }
}
