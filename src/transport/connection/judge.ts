/**
 * How a listener judges a TLS client, from the certificate TLS gave it. The order is the contract:
 * a certificate, a valid one, then an authorized key or a valid grant. Pure apart from the clock.
 */
import type { X509Certificate } from 'node:crypto';
import {
  type AuthorizedKeys,
  type CertificateFacts,
  checkCertificate,
  checkGrant,
  isAuthError,
  type PeerIdentity,
  peerIdentity,
  peerOf,
} from '../../auth/index.js';
import type { Verdict } from './listener.js';

/**
 * The verdict on a client presenting `cert` (undefined: no certificate):
 * - NO_CERTIFICATE: none presented;
 * - BAD_CERTIFICATE: not ed25519, not self-signed by its key, outside its validity (± tolerance), or an
 *   unreadable grant;
 * - accepted with the authorized name when the key is in `keys`;
 * - else, with a grant in the certificate: accepted with the grant's name when an `@admin` of `keys`
 *   signed it for this key and it has not expired; EXPIRED when it has expired or does not verify;
 *   UNKNOWN_KEY when its signer is not an admin here;
 * - UNKNOWN_KEY otherwise.
 * Every check runs on every connection; only what depends on the certificate's bytes alone (its
 * signature, key, dates and grant text) is remembered between connections (certificate-check.ts).
 * Never throws.
 */
export function judgeClient(
  cert: X509Certificate | undefined,
  keys: AuthorizedKeys,
  options: { now?: Date; clockToleranceMs: number },
): Verdict {
  if (!cert) return { ok: false, reason: 'NO_CERTIFICATE', message: 'a client certificate is required' };
  const now = options.now ?? new Date();
  let facts: CertificateFacts;
  try {
    facts = checkCertificate(cert, now.getTime(), options.clockToleranceMs);
  } catch (err) {
    const message = isAuthError(err) ? err.message : 'certificate cannot be read';
    return { ok: false, reason: 'BAD_CERTIFICATE', message };
  }
  if (facts.grantProblem !== undefined) {
    return { ok: false, reason: 'BAD_CERTIFICATE', message: facts.grantProblem };
  }
  const entry = keys.lookupId(facts.id);
  if (entry) return { ok: true, peer: peerOf(facts, entry.name) };
  const anonymous = peerOf(facts);
  if (!facts.grant) {
    return {
      ok: false,
      reason: 'UNKNOWN_KEY',
      message: `key ${anonymous.fingerprint} is not authorized`,
      peer: anonymous,
    };
  }
  const check = checkGrant(facts.grant, facts.publicKey, (k) => keys.admin(k) !== undefined, now);
  if (check.ok) return { ok: true, peer: peerOf(facts, check.grant.name) };
  const reason = check.problem === 'UNTRUSTED' ? 'UNKNOWN_KEY' : 'EXPIRED';
  return { ok: false, reason, message: check.message, peer: anonymous };
}

/**
 * The verdict on a client that proved `publicKey` some other way than a certificate (the in-band
 * handshake, inband.ts), presenting `grant` (undefined: none). The same rules as {@link judgeClient}
 * after the certificate: accepted with the authorized name when the key is in `keys`; else, with a
 * grant, accepted with the grant's name when an `@admin` of `keys` signed it for this key and it has
 * not expired, EXPIRED when it has expired, is malformed or does not verify, UNKNOWN_KEY when its
 * signer is no admin here; UNKNOWN_KEY otherwise. Never throws.
 */
export function judgeKey(
  publicKey: Uint8Array,
  grant: Uint8Array | undefined,
  keys: AuthorizedKeys,
  options: { now?: Date } = {},
): Verdict {
  const anonymous: PeerIdentity = peerIdentity(publicKey);
  const entry = keys.lookupId(anonymous.id);
  if (entry) return { ok: true, peer: peerIdentity(publicKey, entry.name) };
  if (!grant) {
    return {
      ok: false,
      reason: 'UNKNOWN_KEY',
      message: `key ${anonymous.fingerprint} is not authorized`,
      peer: anonymous,
    };
  }
  const check = checkGrant(grant, publicKey, (k) => keys.admin(k) !== undefined, options.now ?? new Date());
  if (check.ok) return { ok: true, peer: peerIdentity(publicKey, check.grant.name) };
  const reason = check.problem === 'UNTRUSTED' ? 'UNKNOWN_KEY' : 'EXPIRED';
  return { ok: false, reason, message: check.message, peer: anonymous };
}
