/**
 * Authorization of a call on the caller's identity. Only peers whose key this node accepted can call
 * at all (the connection layer checks that); `allow` lists narrow it per actor and per method.
 */
import type { Caller } from '../context.js';
import { rpcError } from '../errors.js';

/** Any authenticated peer (one with a key id). */
export const ANY_PEER = '*';

/**
 * True when `caller` may pass `allow`: no list admits everyone; a local caller is always admitted
 * (it is this process); otherwise the caller's authorized name or key id must be listed, or `'*'` with
 * a caller that has a key id.
 */
export function isAllowed(allow: readonly string[] | undefined, caller: Caller): boolean {
  if (allow === undefined || caller.local) return true;
  if (caller.id === undefined) return false;
  if (allow.includes(ANY_PEER)) return true;
  return allow.includes(caller.id) || (caller.name !== undefined && allow.includes(caller.name));
}

/** Throws PERMISSION_DENIED unless `caller` passes both the actor's and the method's lists. */
export function authorize(
  what: string,
  actorAllow: readonly string[] | undefined,
  methodAllow: readonly string[] | undefined,
  caller: Caller,
): void {
  if (isAllowed(actorAllow, caller) && isAllowed(methodAllow, caller)) return;
  const who = caller.name ?? caller.id ?? 'an unauthenticated peer';
  throw rpcError('PERMISSION_DENIED', `${who} may not call ${what}`);
}
