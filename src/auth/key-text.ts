/**
 * The text forms of keys: base64url (RFC 4648 §5, no padding) for public keys and seeds, and a short
 * fingerprint for logs and prompts. Pure functions, no I/O. The text codec itself is Node-free
 * (key-codec.ts); only the fingerprint needs node:crypto.
 */
import { createHash } from 'node:crypto';

export {
  decodeKey,
  encodeKey,
  KEY_TEXT_LENGTH,
  keysEqual,
  PUBLIC_KEY_LENGTH,
  SEED_LENGTH,
  SIGNATURE_LENGTH,
  toKeyBytes,
} from './key-codec.js';

/** Characters of the hash kept in a fingerprint: 96 bits, plenty for a human to compare. */
export const FINGERPRINT_CHARS = 16;

/**
 * A short fingerprint of a public key for logs and prompts: `SHA256:` and the first 16 base64url
 * characters of the key's SHA-256. Not a substitute for the full key where trust is decided.
 */
export function fingerprint(publicKey: Uint8Array): string {
  const hash = createHash('sha256').update(publicKey).digest('base64url');
  return `SHA256:${hash.slice(0, FINGERPRINT_CHARS)}`;
}
