/**
 * Which member last held each (actor, key) a cluster ref called: learnt from a NOT_OWNER refusal's
 * `details.owner`, or from a member that answered a keyed call. A hint only: the store's claim decides,
 * and a wrong hint costs one NOT_OWNER hop. Bounded: the least recently used entry goes first once
 * {@link OWNER_CACHE_SIZE} are held. An entry is used when it is looked up ({@link OwnerCache.get}, once
 * per keyed call that has no owner named by a refusal) or written ({@link OwnerCache.set}); a call that
 * succeeds at the owner it looked up writes nothing, its lookup having marked the entry. An entry is
 * dropped when its member refuses the key (NOT_OWNER, FENCED, a failed dial) or is no longer a live
 * member when looked up.
 *
 * Entries are named by {@link ownerEntry}(actor, key), which a keyed ref works out once (a string
 * made once keeps its hash, so a lookup does not hash the name again).
 */

/** Most (actor, key) owners one actor system remembers for its cluster refs. */
export const OWNER_CACHE_SIZE = 10_000;

/** The name of (actor, key)'s entry. */
export function ownerEntry(actor: string, key: string): string {
  return `${actor}\u0000${key}`;
}

export class OwnerCache {
  /** Insertion order is recency order: a hit moves its entry to the end. */
  private readonly owners = new Map<string, string>();

  constructor(private readonly capacity = OWNER_CACHE_SIZE) {}

  /** The owner's key id remembered for `entry`, if any (marks it recently used). */
  get(entry: string): string | undefined {
    const owner = this.owners.get(entry);
    if (owner !== undefined) {
      this.owners.delete(entry);
      this.owners.set(entry, owner);
    }
    return owner;
  }

  /** Remember `owner` for `entry`, forgetting the least recently used entry beyond the capacity. */
  set(entry: string, owner: string): void {
    this.owners.delete(entry);
    this.owners.set(entry, owner);
    if (this.owners.size > this.capacity) {
      const oldest = this.owners.keys().next().value as string;
      this.owners.delete(oldest);
    }
  }

  /** Forget `entry`'s owner, if it is `owner` (undefined: whoever it is). */
  drop(entry: string, owner?: string): void {
    if (owner === undefined || this.owners.get(entry) === owner) this.owners.delete(entry);
  }

  get size(): number {
    return this.owners.size;
  }
}
