/**
 * The session's streams by id: an open-addressing hash table (linear probing, deletion by backward
 * shift, so no tombstones) over a typed array of ids and an array of streams.
 *
 * Why not a Map: a call opens and closes a stream, and a Map that keeps a few hundred live entries under
 * that churn reallocates its backing table every few hundred insertions (deleted entries are only
 * dropped by a rehash into a new table), an allocation per stream (bench/RESULTS.md). Here inserting and deleting allocate nothing; the arrays only grow (load above 1/2) or shrink
 * (load below 1/32) when the number of open streams changes by a factor.
 *
 * Hashing: multiply-shift with a random odd multiplier per table (2-universal), so a peer, which picks
 * the ids of the streams it opens, cannot aim them at one slot and make every lookup a long probe.
 */

/** Slots of a new table; a power of two. */
const MIN_CAPACITY = 16;
/**
 * A table shrinks (to a quarter) only above this many slots and below 1/32 load, so a session whose
 * calls come in bursts (all replies of a batch close, the next batch opens as many) does not resize
 * back and forth: that would allocate what the Map did.
 */
const SHRINK_ABOVE = 256;

export class StreamTable<T> {
  /** Id in each slot; 0 = empty (stream ids are never 0). */
  private ids = new Uint32Array(MIN_CAPACITY);
  private values: (T | undefined)[] = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
  private count = 0;
  /** 32 - log2(capacity): the hash is the top bits of the product. */
  private shift = 32 - Math.log2(MIN_CAPACITY);
  private readonly multiplier = crypto.getRandomValues(new Uint32Array(1))[0]! | 1;

  /** Entries in the table. */
  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const ids = this.ids;
    const mask = ids.length - 1;
    for (let i = this.home(id); ; i = (i + 1) & mask) {
      const at = ids[i]!;
      if (at === id) return this.values[i];
      if (at === 0) return undefined;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds `value` under `id`, which must not be in the table (the session checks first). */
  add(id: number, value: T): void {
    if ((this.count + 1) * 2 > this.ids.length) this.resize(this.ids.length * 2);
    this.place(id, value);
    this.count++;
  }

  /** Removes `id` if it maps to `value`; false when it does not. */
  delete(id: number, value: T): boolean {
    const ids = this.ids;
    const values = this.values;
    const mask = ids.length - 1;
    let hole = this.home(id);
    for (;;) {
      const at = ids[hole]!;
      if (at === 0) return false;
      if (at === id) break;
      hole = (hole + 1) & mask;
    }
    if (values[hole] !== value) return false;
    // Backward shift: move later entries of the same probe run into the hole, so lookups never need
    // tombstones to find them.
    for (let j = (hole + 1) & mask; ids[j] !== 0; j = (j + 1) & mask) {
      const home = this.home(ids[j]!);
      // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        ids[hole] = ids[j]!;
        values[hole] = values[j];
        hole = j;
      }
    }
    ids[hole] = 0;
    values[hole] = undefined;
    this.count--;
    if (this.ids.length > SHRINK_ABOVE && this.count * 32 < this.ids.length) this.resize(this.ids.length / 4);
    return true;
  }

  /** A snapshot of the values by ascending id (each side's streams in the order it opened them). */
  toArray(): T[] {
    const ids: number[] = [];
    for (let i = 0; i < this.ids.length; i++) if (this.ids[i] !== 0) ids.push(this.ids[i]!);
    ids.sort((a, b) => a - b);
    return ids.map((id) => this.get(id)!);
  }

  /** Empties the table (and gives back its memory). */
  clear(): void {
    this.ids = new Uint32Array(MIN_CAPACITY);
    this.values = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
    this.shift = 32 - Math.log2(MIN_CAPACITY);
    this.count = 0;
  }

  private home(id: number): number {
    return Math.imul(id, this.multiplier) >>> this.shift;
  }

  private place(id: number, value: T): void {
    const ids = this.ids;
    const mask = ids.length - 1;
    let i = this.home(id);
    while (ids[i] !== 0) i = (i + 1) & mask;
    ids[i] = id;
    this.values[i] = value;
  }

  private resize(capacity: number): void {
    const ids = this.ids;
    const values = this.values;
    this.ids = new Uint32Array(capacity);
    this.values = new Array<T | undefined>(capacity).fill(undefined);
    this.shift = 32 - Math.log2(capacity);
    for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) this.place(ids[i]!, values[i]!);
  }
}
