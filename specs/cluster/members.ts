/** Helpers for the cluster specs: members with fresh keys, and bounded waiting. */
import { Identity } from '../../src/auth/identity.js';
import type { Member, MemberInfo } from '../../src/cluster/member.js';

/** A member with a new key, on 127.0.0.1:`port`. */
export function memberOn(port: number, actors: string[] = ['calc'], load = 0): MemberInfo {
  return { keyId: Identity.generate().id, addresses: { tls: { host: '127.0.0.1', port } }, actors, load };
}

/** The key ids of `list`, sorted. */
export function keysOf(list: readonly Member[]): string[] {
  return list.map((m) => m.keyId).sort();
}

/** Resolves once `ok()` holds (polled every 5 ms); rejects after `timeoutMs` naming `what`. */
export async function waitFor(what: string, ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
