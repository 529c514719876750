/**
 * The auth layer: ed25519 identities, certificates made from them, and trust lists (who may connect,
 * which servers we trust, who may delegate). The only public surface of `src/auth`.
 */
export { type AuthorizedKeyInput, AuthorizedKeys, type LoadOptions } from './authorized-keys.js';
export {
  ADMIN_MARKER,
  type AuthorizedKey,
  formatAuthorizedKeys,
  parseAuthorizedKeys,
} from './authorized-keys-format.js';
export {
  type CertificateMaterial,
  DEFAULT_CERTIFICATE_VALIDITY_MS,
  DEFAULT_CLOCK_TOLERANCE_MS,
  GRANT_URI_PREFIX,
  type MakeCertificateOptions,
  makeCertificate,
} from './certificate.js';
// checkCertificate, peerOf and CertificateFacts are for the connection layer's handshake path only.
export {
  type CertificateFacts,
  certificateGrant,
  checkCertificate,
  peerOf,
  type VerifiedCertificate,
  verifyCertificate,
} from './certificate-check.js';
export { AuthError, AuthErrorCode, authError, isAuthError } from './errors.js';
export { checkGrant, decodeGrant, type Grant, type GrantCheck, signGrant } from './grant.js';
export { Identity, type PeerIdentity, peerIdentity } from './identity.js';
export { formatKeyFile, KEY_FILE_TAG, parseKeyFile } from './key-file.js';
export { decodeKey, encodeKey, fingerprint, keysEqual, PUBLIC_KEY_LENGTH, toKeyBytes } from './key-text.js';
export { hostPort, type KnownHost, KnownHosts, parseKnownHosts } from './known-hosts.js';
