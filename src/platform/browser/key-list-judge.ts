/**
 * How a browser judges a client's proven key (a page or a Worker serving a MessagePort): by a list
 * in code, `[{ key, name }]`, as Node judges by AuthorizedKeys (transport/connection/judge.ts
 * judgeKey) but with no files and no grants (their signatures are checked with node:crypto).
 */
import { type AuthorizedKeyInput, listEntries } from '../../auth/authorized-keys-format.js';
import { encodeKey } from '../../auth/key-codec.js';
import { webFingerprint, webPeerIdentity } from '../../auth/web-peer.js';
import type { KeyJudge } from '../../transport/connection/inband-server.js';

/**
 * A judge by `list`: accepted with the entry's name when the key is listed (not as `admin`);
 * UNKNOWN_KEY otherwise, saying so when the client showed a grant. Throws AuthError INVALID_KEY or
 * AUTHORIZED_KEYS_INVALID for a malformed list (as AuthorizedKeys.fromList).
 */
export function keyListJudge(list: readonly AuthorizedKeyInput[]): KeyJudge {
  const names = new Map<string, string>();
  for (const entry of listEntries(list)) if (!entry.admin) names.set(entry.id, entry.name);
  return async (publicKey, grant) => {
    const name = names.get(encodeKey(publicKey));
    if (name !== undefined) return { ok: true, peer: await webPeerIdentity(publicKey, name) };
    const why = grant === undefined ? '' : ' (a browser does not honour grants: list the key)';
    return {
      ok: false,
      reason: 'UNKNOWN_KEY',
      message: `key ${await webFingerprint(publicKey)} is not authorized${why}`,
      peer: await webPeerIdentity(publicKey),
    };
  };
}
