/**
 * Rendezvous (highest random weight) hashing: which member a keyed call tries first. Every node and
 * every caller that sees the same members computes the same order, and a member that joins or leaves
 * moves only the keys it wins or held. The order is a routing hint: the claim in the store decides who
 * holds a key (placement.ts), and a node that does not hold it answers NOT_OWNER.
 */

/** `candidates` sorted by their weight for (actor, key), highest first; ties by key id. A new array. */
export function rendezvousOrder<M extends { readonly keyId: string }>(
  candidates: readonly M[],
  actor: string,
  key: string,
): M[] {
  const suffix = `\u0000${actor}\u0000${key}`;
  return candidates
    .map((m) => ({ m, w: weight(m.keyId + suffix) }))
    .sort((a, b) => b.w - a.w || (a.m.keyId < b.m.keyId ? -1 : a.m.keyId > b.m.keyId ? 1 : 0))
    .map((e) => e.m);
}

/** FNV-1a over the UTF-16 code units, then a murmur3 finaliser so that near strings spread. 32 bits. */
export function weight(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
