/**
 * Certificates made from identities: self-signed X.509 whose subject key is the identity's own ed25519
 * key. Nobody checks them against a CA: what a certificate proves is "the holder of this key signed
 * this, and it is within its validity period" (certificate-check.ts checks that). Trust in the key
 * itself is decided by the authorized keys (servers) or the pinned key / known hosts (clients).
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { type Identity, secretSeed } from './identity.js';
import { encodeKey } from './key-text.js';

// The DOM's Crypto type is not in this project's lib; x509 wants exactly what Node's webcrypto is.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

/** Default certificate lifetime, ms: short, so a stolen certificate is soon useless; renewed before it ends. */
export const DEFAULT_CERTIFICATE_VALIDITY_MS = 24 * 60 * 60 * 1000;
/** Longest lifetime makeCertificate accepts, ms (397 days, the CA/Browser forum ceiling). */
export const MAX_CERTIFICATE_VALIDITY_MS = 397 * 24 * 60 * 60 * 1000;
/** notBefore is set this far in the past, ms, so a peer whose clock is a little behind accepts it. */
export const CERTIFICATE_BACKDATE_MS = 5 * 60 * 1000;
/** Default tolerance for the peer's clock when checking validity, ms. */
export const DEFAULT_CLOCK_TOLERANCE_MS = 5 * 60 * 1000;
/**
 * How a grant (a delegation, see grant.ts) travels in a certificate: as a URI in the subject
 * alternative name, `rxchan:grant:<base64url of the grant>`. A standard extension, so no private OID
 * is needed (SPIFFE carries identities the same way), and every X.509 tool shows it.
 */
export const GRANT_URI_PREFIX = 'rxchan:grant:';
/** Largest grant accepted from a certificate, bytes (a grant is at most 202). */
export const MAX_GRANT_BYTES = 512;

/** A certificate and its private key, PEM, ready for `tls.createSecureContext`. */
export interface CertificateMaterial {
  readonly certPem: string;
  /** PKCS#8 PEM of the identity's private key. Secret. */
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface MakeCertificateOptions {
  /** Lifetime from now, ms. Default 24 h. Must be > 0 and <= 397 days. */
  validityMs?: number;
  /** The clock, for tests. Default now. */
  now?: Date;
  /** An encoded grant (grant.ts) to carry, see {@link GRANT_URI_PREFIX}. */
  grant?: Uint8Array;
}

/**
 * A self-signed certificate for `identity`, valid from 5 minutes ago until `validityMs` from now.
 * Subject and issuer are `CN=rxchan <id>`; the serial number is random (64 bits). Extensions: basic
 * constraints (not a CA), key usage digitalSignature, extended key usage serverAuth + clientAuth, and
 * the grant (as a subject alternative name URI) if given. Throws RangeError for a bad `validityMs`.
 */
export async function makeCertificate(
  identity: Identity,
  options: MakeCertificateOptions = {},
): Promise<CertificateMaterial> {
  const validityMs = options.validityMs ?? DEFAULT_CERTIFICATE_VALIDITY_MS;
  if (!Number.isFinite(validityMs) || validityMs <= 0 || validityMs > MAX_CERTIFICATE_VALIDITY_MS) {
    throw new RangeError(`validityMs must be in (0, ${MAX_CERTIFICATE_VALIDITY_MS}], got ${validityMs}`);
  }
  const now = (options.now ?? new Date()).getTime();
  // X.509 times have whole seconds: round so the dates we report are the dates in the certificate.
  const notBefore = new Date(Math.floor((now - CERTIFICATE_BACKDATE_MS) / 1000) * 1000);
  const notAfter = new Date(Math.floor((now + validityMs) / 1000) * 1000);

  const jwk = privateJwk(identity);
  const privateKey = await webcrypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey(
    'jwk',
    { kty: 'OKP', crv: 'Ed25519', x: jwk.x },
    { name: 'Ed25519' },
    true,
    ['verify'],
  );
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
  ];
  if (options.grant) {
    const uri = `${GRANT_URI_PREFIX}${Buffer.from(options.grant).toString('base64url')}`;
    extensions.push(new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }]));
  }

  const serial = new Uint8Array(webcrypto.getRandomValues(new Uint8Array(8)));
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and without a leading zero byte, as DER wants
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(serial).toString('hex'),
    name: `CN=rxchan ${identity.id}`,
    notBefore,
    notAfter,
    keys: { privateKey, publicKey } as unknown as KeyPair,
    signingAlgorithm: { name: 'Ed25519' },
    extensions,
  });
  const keyPem = createPrivateKey({ key: jwk, format: 'jwk' }).export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  return { certPem: cert.toString('pem'), keyPem, notBefore, notAfter };
}

function privateJwk(identity: Identity): { kty: 'OKP'; crv: 'Ed25519'; d: string; x: string } {
  return { kty: 'OKP', crv: 'Ed25519', d: encodeKey(secretSeed(identity)), x: identity.id };
}
