/**
 * Grants (signed delegation): an admin key signs "key K may connect until T". A server whose
 * authorized keys trust the admin (`@admin` line) accepts K without K being listed, until T.
 * The grant travels inside K's own certificate, as a subject alternative name URI (certificate.ts), so
 * the TLS handshake carries it and the server checks it with the certificate. Pure codec + checks.
 *
 * Wire layout (all integers big-endian):
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 1 | version, `0x01` |
 * | 1 | 32 | subject: the ed25519 key allowed to connect |
 * | 33 | 8 | notAfter: milliseconds since the Unix epoch |
 * | 41 | 32 | admin: the ed25519 key that signs |
 * | 73 | 1 | length `n` of the name, at most 64 |
 * | 74 | n | name, UTF-8: how the server names the subject |
 * | 74+n | 64 | ed25519 signature by admin of `"rxchan-grant-v1\0"` followed by bytes 0 .. 74+n |
 */
import {
  checkGrantWith,
  concat,
  GRANT_HEADER,
  GRANT_SIGNING_DOMAIN,
  GRANT_VERSION,
  type Grant,
  type GrantCheck,
  grantSigningInput,
  MAX_GRANT_NAME_BYTES,
} from './grant-codec.js';
import { Identity } from './identity.js';
import { toKeyBytes } from './key-text.js';

export {
  decodeGrant,
  GRANT_SIGNING_DOMAIN,
  GRANT_VERSION,
  type Grant,
  type GrantCheck,
  MAX_GRANT_NAME_BYTES,
} from './grant-codec.js';

/**
 * A grant signed by `admin` for `subject` until `notAfter`, encoded. Give it to the subject, who
 * passes it to `makeCertificate(identity, { grant })` (or the listener/dialer `grant` option).
 * Throws RangeError for a name over 64 bytes or a date outside 0 .. 2^53 ms.
 */
export function signGrant(
  admin: Identity,
  grant: { subject: Uint8Array | string; notAfter: Date; name: string },
): Uint8Array {
  const subject = toKeyBytes(grant.subject, 'grant subject');
  const name = new TextEncoder().encode(grant.name);
  if (name.length > MAX_GRANT_NAME_BYTES)
    throw new RangeError(`grant name over ${MAX_GRANT_NAME_BYTES} bytes`);
  const t = grant.notAfter.getTime();
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError('grant notAfter out of range');
  const body = new Uint8Array(GRANT_HEADER + name.length);
  const view = new DataView(body.buffer);
  body[0] = GRANT_VERSION;
  body.set(subject, 1);
  view.setBigUint64(33, BigInt(t));
  body.set(admin.publicKey, 41);
  body[73] = name.length;
  body.set(name, GRANT_HEADER);
  const signature = admin.sign(concat(GRANT_SIGNING_DOMAIN, body));
  return concat(body, signature);
}

/**
 * Whether grant bytes let `subject` connect at `now`: the layout is valid, the grant names `subject`,
 * `isAdmin` trusts its signer, the signature verifies, and `now` is not past notAfter (no clock
 * tolerance: the admin chose T). Never throws.
 */
export function checkGrant(
  bytes: Uint8Array,
  subject: Uint8Array,
  isAdmin: (key: Uint8Array) => boolean,
  now: Date = new Date(),
): GrantCheck {
  return checkGrantWith(bytes, subject, isAdmin, now, signatureHolds);
}

// A client presents its grant on every connection. Whether its signature holds depends only on the
// grant's bytes (they carry the admin key, the signed fields and the signature), so grants that verified
// are remembered by their exact bytes (bounded, oldest first). Subject, admin trust and expiry are
// checked on every call.
const VERIFIED_GRANTS = 1024;
const verifiedGrants = new Set<string>();

function signatureHolds(bytes: Uint8Array, grant: Grant): boolean {
  const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (verifiedGrants.has(key)) return true;
  if (!Identity.verify(grant.admin, grantSigningInput(grant), grant.signature)) return false;
  verifiedGrants.add(key);
  if (verifiedGrants.size > VERIFIED_GRANTS)
    verifiedGrants.delete(verifiedGrants.values().next().value as string);
  return true;
}
