/**
 * Checking a peer's certificate the way rxchan trusts it: an ed25519 subject key, a signature by that
 * same key (self-signed), and the validity period. Nobody checks it against a CA; whether the key is
 * trusted is for the authorized keys (servers) or the pins / known hosts (dialers).
 *
 * A peer presents the same certificate on every connection for hours, and these checks run on the
 * critical path of every handshake. So what depends only on the certificate's bytes (key type,
 * self-signature, key, dates, grant) is worked out once per distinct certificate and remembered, keyed
 * by the SHA-256 of its DER bytes; what depends on the moment (the validity window) is checked on every
 * use. A remembered entry is never changed and never handed out: callers get copies.
 */
import { X509Certificate } from 'node:crypto';
import { DEFAULT_CLOCK_TOLERANCE_MS, GRANT_URI_PREFIX, MAX_GRANT_BYTES } from './certificate.js';
import { authError } from './errors.js';
import type { PeerIdentity } from './identity.js';
import { encodeKey, fingerprint, PUBLIC_KEY_LENGTH } from './key-text.js';

/** What a verified certificate says. */
export interface VerifiedCertificate {
  /** The ed25519 subject key, 32 bytes: the peer's identity. */
  readonly publicKey: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * Internal (connection layer): what a certificate's bytes say once its key type and self-signature
 * have been checked. Shared by every connection that presents the same certificate: read it, never
 * change it, and hand out {@link peerOf} rather than `publicKey`.
 */
export interface CertificateFacts {
  /** The ed25519 subject key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** base64url text of `publicKey`. */
  readonly id: string;
  /** {@link fingerprint} of `publicKey`. */
  readonly fingerprint: string;
  /** Validity period, ms since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** The grant the certificate carries (undefined: none), or why it cannot be read. */
  readonly grant: Uint8Array | undefined;
  readonly grantProblem: string | undefined;
}

/** Distinct certificates remembered (oldest use forgotten first): one per peer seen recently. */
export const CERTIFICATE_CACHE_SIZE = 1024;
const checked = new Map<string, CertificateFacts>();

/**
 * Checks a peer's certificate the way rxchan trusts it: the subject key is ed25519, the certificate's
 * signature verifies with that same key (self-signed), and `now` is within its validity period give
 * or take `clockToleranceMs`. Returns the key and dates (copies). Throws AuthError CERTIFICATE_INVALID,
 * with the failed check in the message. It does not decide whether the key is trusted.
 */
export function verifyCertificate(
  cert: X509Certificate | Uint8Array,
  options: { now?: Date; clockToleranceMs?: number } = {},
): VerifiedCertificate {
  let parsed: X509Certificate;
  try {
    parsed = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  } catch (err) {
    throw authError('CERTIFICATE_INVALID', 'certificate is not valid DER X.509', { cause: err });
  }
  const facts = checkCertificate(
    parsed,
    (options.now ?? new Date()).getTime(),
    options.clockToleranceMs ?? DEFAULT_CLOCK_TOLERANCE_MS,
  );
  return {
    publicKey: Uint8Array.from(facts.publicKey),
    notBefore: new Date(facts.notBefore),
    notAfter: new Date(facts.notAfter),
  };
}

/**
 * Internal (connection layer): {@link verifyCertificate} without the copies, for the handshake path.
 * `now` is ms since the epoch. Throws AuthError CERTIFICATE_INVALID like verifyCertificate; a grant
 * that cannot be read does not throw here, it is reported in `grantProblem`.
 */
export function checkCertificate(
  cert: X509Certificate,
  now: number,
  clockToleranceMs: number,
): CertificateFacts {
  const facts = factsOf(cert);
  if (now + clockToleranceMs < facts.notBefore) {
    throw authError(
      'CERTIFICATE_INVALID',
      `certificate is not valid before ${new Date(facts.notBefore).toISOString()}`,
    );
  }
  if (now - clockToleranceMs > facts.notAfter) {
    throw authError(
      'CERTIFICATE_INVALID',
      `certificate expired at ${new Date(facts.notAfter).toISOString()}`,
    );
  }
  return facts;
}

/** Internal (connection layer): the peer a checked certificate proves, with its own copy of the key. */
export function peerOf(facts: CertificateFacts, name?: string): PeerIdentity {
  return { publicKey: Uint8Array.from(facts.publicKey), id: facts.id, fingerprint: facts.fingerprint, name };
}

/**
 * The grant carried in `cert` (its `rxchan:grant:` subject alternative name), or undefined when it has
 * none. Throws AuthError CERTIFICATE_INVALID when there are several, or the text is not base64url.
 * The grant itself is not checked here (grant.ts does that).
 */
export function certificateGrant(cert: X509Certificate | Uint8Array): Uint8Array | undefined {
  const parsed = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const found = readGrant(parsed);
  if (typeof found === 'string') throw authError('CERTIFICATE_INVALID', found);
  return found;
}

/** Key type, self-signature, key, dates and grant of a certificate, from the cache or checked now. */
function factsOf(cert: X509Certificate): CertificateFacts {
  // SHA-256 of the DER bytes, computed natively in one call: equal keys mean the same certificate.
  const digest = cert.fingerprint256;
  const hit = checked.get(digest);
  if (hit) {
    checked.delete(digest); // keep the most recently used last, so the oldest use is forgotten first
    checked.set(digest, hit);
    return hit;
  }
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== 'ed25519') {
    throw authError(
      'CERTIFICATE_INVALID',
      `certificate key is ${key.asymmetricKeyType ?? 'unknown'}, not ed25519`,
    );
  }
  if (!cert.verify(key)) {
    throw authError('CERTIFICATE_INVALID', 'certificate is not self-signed by its own key (signature fails)');
  }
  const notBefore = new Date(cert.validFrom).getTime();
  const notAfter = new Date(cert.validTo).getTime();
  if (Number.isNaN(notBefore) || Number.isNaN(notAfter)) {
    throw authError('CERTIFICATE_INVALID', 'certificate validity dates cannot be read');
  }
  const publicKey = new Uint8Array(Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url'));
  if (publicKey.length !== PUBLIC_KEY_LENGTH)
    throw authError('CERTIFICATE_INVALID', 'certificate ed25519 key is not 32 bytes');
  const grant = readGrant(cert);
  const facts: CertificateFacts = {
    publicKey,
    id: encodeKey(publicKey),
    fingerprint: fingerprint(publicKey),
    notBefore,
    notAfter,
    grant: typeof grant === 'string' ? undefined : grant,
    grantProblem: typeof grant === 'string' ? grant : undefined,
  };
  checked.set(digest, facts);
  if (checked.size > CERTIFICATE_CACHE_SIZE) checked.delete(checked.keys().next().value as string);
  return facts;
}

/** The grant in `cert`, undefined for none, or a string saying why it cannot be read. */
function readGrant(cert: X509Certificate): Uint8Array | undefined | string {
  const prefix = `URI:${GRANT_URI_PREFIX}`;
  const found = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((name) => name.startsWith(prefix))
    .map((name) => name.slice(prefix.length));
  if (found.length === 0) return undefined;
  if (found.length > 1) return 'certificate carries more than one grant';
  const text = found[0]!;
  if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length > Math.ceil((MAX_GRANT_BYTES * 4) / 3)) {
    return 'certificate grant is not base64url (or too long)';
  }
  return new Uint8Array(Buffer.from(text, 'base64url'));
}
