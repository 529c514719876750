/**
 * The grant codec and the rules of a grant check, with no Node built-ins (the browser build judges
 * grants with them); grant.ts signs grants and checks them with node:crypto. The layout is in grant.ts.
 */
import { authError } from './errors.js';
import { encodeKey, keysEqual, SIGNATURE_LENGTH } from './key-codec.js';

/** The grant format version this code writes and reads. */
export const GRANT_VERSION = 0x01;
/** Prefix of the signed bytes: a signature made for anything else can never pass as a grant. */
export const GRANT_SIGNING_DOMAIN = new TextEncoder().encode('rxchan-grant-v1\0');
/** Longest name, UTF-8 bytes. */
export const MAX_GRANT_NAME_BYTES = 64;
/** Bytes before the name: version, subject, notAfter, admin, name length. */
export const GRANT_HEADER = 74;

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

/** Parses a grant's bytes. Throws AuthError GRANT_INVALID when the layout is wrong (not the signature). */
export function decodeGrant(bytes: Uint8Array): Grant {
  const bad = (why: string) => authError('GRANT_INVALID', `grant: ${why}`);
  if (bytes.length < GRANT_HEADER + SIGNATURE_LENGTH) throw bad(`too short (${bytes.length} bytes)`);
  if (bytes[0] !== GRANT_VERSION) throw bad(`unknown version ${bytes[0]}`);
  const n = bytes[73]!;
  if (n > MAX_GRANT_NAME_BYTES) throw bad(`name length ${n} over ${MAX_GRANT_NAME_BYTES}`);
  if (bytes.length !== GRANT_HEADER + n + SIGNATURE_LENGTH)
    throw bad(`length ${bytes.length} does not match its name`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const t = view.getBigUint64(33);
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('notAfter out of range');
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(GRANT_HEADER, GRANT_HEADER + n));
  } catch {
    throw bad('name is not UTF-8');
  }
  return {
    subject: bytes.slice(1, 33),
    notAfter: new Date(Number(t)),
    admin: bytes.slice(41, 73),
    name,
    signed: bytes.slice(0, GRANT_HEADER + n),
    signature: bytes.slice(GRANT_HEADER + n),
  };
}

/** The outcome of {@link checkGrant}. */
export type GrantCheck =
  | { ok: true; grant: Grant }
  /** UNTRUSTED: the signer is no admin here. EXPIRED: past notAfter. INVALID: malformed, wrong subject or bad signature. */
  | { ok: false; problem: 'UNTRUSTED' | 'EXPIRED' | 'INVALID'; message: string };

/**
 * {@link checkGrant} with the signature check given: `signatureHolds` says whether `grant`'s admin
 * signed it (`bytes` are the whole grant). Never throws if `signatureHolds` does not.
 */
export function checkGrantWith(
  bytes: Uint8Array,
  subject: Uint8Array,
  isAdmin: (key: Uint8Array) => boolean,
  now: Date,
  signatureHolds: (bytes: Uint8Array, grant: Grant) => boolean,
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

/** The bytes an admin signs for a grant: the signing domain, then `grant.signed`. */
export function grantSigningInput(grant: Grant): Uint8Array {
  return concat(GRANT_SIGNING_DOMAIN, grant.signed);
}

/** `a` then `b`, in a new array. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
