/**
 * Which member last held each (actor, key) a cluster ref called: learnt from a NOT_OWNER refusal's
 * `details.owner`, or from a member that answered a keyed call. A hint only: the store's claim decides,
 * and a wrong hint costs one NOT_OWNER hop. Bounded: the least recently used entry goes first once
 * {@link OWNER_CACHE_SIZE} are held. An entry is dropped when its member refuses the key (NOT_OWNER,
 * FENCED, a failed dial) or is no longer a live member when looked up.
 */

/** Most (actor, key) owners one actor system remembers for its cluster refs. */
export const OWNER_CACHE_SIZE = 10_000;

export class OwnerCache {
  /** Insertion order is recency order: a hit moves its entry to the end. */
  private readonly owners = new Map<string, string>();

  constructor(private readonly capacity = OWNER_CACHE_SIZE) {}

  /** The owner's key id remembered for (actor, key), if any (marks it recently used). */
  get(actor: string, key: string): string | undefined {
    const k = entryOf(actor, key);
    const owner = this.owners.get(k);
    if (owner !== undefined) {
      this.owners.delete(k);
      this.owners.set(k, owner);
    }
    return owner;
  }

  /** Remember `owner` for (actor, key), forgetting the least recently used entry beyond the capacity. */
  set(actor: string, key: string, owner: string): void {
    const k = entryOf(actor, key);
    this.owners.delete(k);
    this.owners.set(k, owner);
    if (this.owners.size > this.capacity) {
      const oldest = this.owners.keys().next().value as string;
      this.owners.delete(oldest);
    }
  }

  /** Forget (actor, key)'s owner, if it is `owner` (undefined: whoever it is). */
  drop(actor: string, key: string, owner?: string): void {
    const k = entryOf(actor, key);
    if (owner === undefined || this.owners.get(k) === owner) this.owners.delete(k);
  }

  get size(): number {
    return this.owners.size;
  }
}

function entryOf(actor: string, key: string): string {
  return `${actor}\u0000${key}`;
}
