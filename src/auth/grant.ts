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
import { authError } from './errors.js';
import { Identity } from './identity.js';
import { encodeKey, keysEqual, SIGNATURE_LENGTH, toKeyBytes } from './key-text.js';

/** The grant format version this code writes and reads. */
export const GRANT_VERSION = 0x01;
/** Prefix of the signed bytes: a signature made for anything else can never pass as a grant. */
export const GRANT_SIGNING_DOMAIN = new TextEncoder().encode('rxchan-grant-v1\0');
/** Longest name, UTF-8 bytes. */
export const MAX_GRANT_NAME_BYTES = 64;
const HEADER = 74;

/** A decoded grant. Decoding checks shape only; {@link checkGrant} decides whether it holds. */
export interface Grant {
  readonly subject: Uint8Array;
  readonly notAfter: Date;
  readonly admin: Uint8Array;
  readonly name: string;
  readonly signature: Uint8Array;
  /** The bytes the signature covers (after the domain prefix). */
  readonly signed: Uint8Array;
}

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
  const body = new Uint8Array(HEADER + name.length);
  const view = new DataView(body.buffer);
  body[0] = GRANT_VERSION;
  body.set(subject, 1);
  view.setBigUint64(33, BigInt(t));
  body.set(admin.publicKey, 41);
  body[73] = name.length;
  body.set(name, HEADER);
  const signature = admin.sign(concat(GRANT_SIGNING_DOMAIN, body));
  return concat(body, signature);
}

/** Parses a grant's bytes. Throws AuthError GRANT_INVALID when the layout is wrong (not the signature). */
export function decodeGrant(bytes: Uint8Array): Grant {
  const bad = (why: string) => authError('GRANT_INVALID', `grant: ${why}`);
  if (bytes.length < HEADER + SIGNATURE_LENGTH) throw bad(`too short (${bytes.length} bytes)`);
  if (bytes[0] !== GRANT_VERSION) throw bad(`unknown version ${bytes[0]}`);
  const n = bytes[73]!;
  if (n > MAX_GRANT_NAME_BYTES) throw bad(`name length ${n} over ${MAX_GRANT_NAME_BYTES}`);
  if (bytes.length !== HEADER + n + SIGNATURE_LENGTH)
    throw bad(`length ${bytes.length} does not match its name`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const t = view.getBigUint64(33);
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('notAfter out of range');
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER, HEADER + n));
  } catch {
    throw bad('name is not UTF-8');
  }
  return {
    subject: bytes.slice(1, 33),
    notAfter: new Date(Number(t)),
    admin: bytes.slice(41, 73),
    name,
    signed: bytes.slice(0, HEADER + n),
    signature: bytes.slice(HEADER + n),
  };
}

/** The outcome of {@link checkGrant}. */
export type GrantCheck =
  | { ok: true; grant: Grant }
  /** UNTRUSTED: the signer is no admin here. EXPIRED: past notAfter. INVALID: malformed, wrong subject or bad signature. */
  | { ok: false; problem: 'UNTRUSTED' | 'EXPIRED' | 'INVALID'; message: string };

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
  let grant: Grant;
  try {
    grant = decodeGrant(bytes);
  } catch (err) {
    return { ok: false, problem: 'INVALID', message: (err as Error).message };
  }
  if (!keysEqual(grant.subject, subject)) {
    return { ok: false, problem: 'INVALID', message: 'grant is for another key' };
  }
  if (!isAdmin(grant.admin)) {
    return {
      ok: false,
      problem: 'UNTRUSTED',
      message: `grant signed by ${encodeKey(grant.admin)}, not an admin here`,
    };
  }
  if (!signatureHolds(bytes, grant)) {
    return { ok: false, problem: 'INVALID', message: 'grant signature does not verify' };
  }
  if (now.getTime() > grant.notAfter.getTime()) {
    return { ok: false, problem: 'EXPIRED', message: `grant expired at ${grant.notAfter.toISOString()}` };
  }
  return { ok: true, grant };
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
  if (!Identity.verify(grant.admin, concat(GRANT_SIGNING_DOMAIN, grant.signed), grant.signature))
    return false;
  verifiedGrants.add(key);
  if (verifiedGrants.size > VERIFIED_GRANTS)
    verifiedGrants.delete(verifiedGrants.values().next().value as string);
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
