/**
 * How a browser judges a client's proven key (a page or a Worker serving a MessagePort): by a list
 * in code, `[{ key, name, admin? }]`, with the rules of Node's judgeKey (transport/connection/judge.ts)
 * but no files. Grant signatures are checked with tweetnacl.
 */
import { type AuthorizedKeyInput, listEntries } from '../../auth/authorized-keys-format.js';
import { checkGrantWith, grantSigningInput } from '../../auth/grant-codec.js';
import { encodeKey } from '../../auth/key-codec.js';
import { webFingerprint, webPeerIdentity } from '../../auth/web-peer.js';
import { naclVerify } from '../../transport/connection/inband-common.js';
import type { KeyJudge } from '../../transport/connection/inband-server.js';

/**
 * A judge by `list`: accepted with the entry's name when the key is listed (not as `admin`); else,
 * with a grant, accepted with the grant's name when an `admin` entry signed it for this key and it has
 * not expired, EXPIRED when it has expired, is malformed or does not verify, UNKNOWN_KEY when its
 * signer is no admin here; UNKNOWN_KEY otherwise. Throws AuthError INVALID_KEY or
 * AUTHORIZED_KEYS_INVALID for a malformed list (as AuthorizedKeys.fromList).
 */
export function keyListJudge(list: readonly AuthorizedKeyInput[]): KeyJudge {
  const names = new Map<string, string>();
  const admins = new Set<string>();
  for (const entry of listEntries(list)) {
    if (entry.admin) admins.add(entry.id);
    else names.set(entry.id, entry.name);
  }
  return async (publicKey, grant) => {
    const name = names.get(encodeKey(publicKey));
    if (name !== undefined) return { ok: true, peer: await webPeerIdentity(publicKey, name) };
    const anonymous = await webPeerIdentity(publicKey);
    if (grant === undefined) {
      return {
        ok: false,
        reason: 'UNKNOWN_KEY',
        message: `key ${await webFingerprint(publicKey)} is not authorized`,
        peer: anonymous,
      };
    }
    const check = checkGrantWith(
      grant,
      publicKey,
      (key) => admins.has(encodeKey(key)),
      new Date(),
      (_, g) => naclVerify(grantSigningInput(g), g.signature, g.admin),
    );
    if (check.ok) return { ok: true, peer: await webPeerIdentity(publicKey, check.grant.name) };
    const reason = check.problem === 'UNTRUSTED' ? 'UNKNOWN_KEY' : 'EXPIRED';
    return { ok: false, reason, message: check.message, peer: anonymous };
  };
}
