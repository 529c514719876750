/**
 * The text forms of keys: base64url (RFC 4648 §5, no padding) for public keys and seeds, and a short
 * fingerprint for logs and prompts. Pure functions, no I/O.
 */
import { createHash } from 'node:crypto';
import { authError } from './errors.js';

/** Bytes in an ed25519 public key. */
export const PUBLIC_KEY_LENGTH = 32;
/** Bytes in an ed25519 seed (the secret from which the key pair is derived). */
export const SEED_LENGTH = 32;
/** Bytes in an ed25519 signature. */
export const SIGNATURE_LENGTH = 64;
/** Characters in the base64url text of 32 bytes (no padding). */
export const KEY_TEXT_LENGTH = 43;
/** Characters of the hash kept in a fingerprint: 96 bits, plenty for a human to compare. */
export const FINGERPRINT_CHARS = 16;

const KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;

/** base64url text of 32 key bytes: the `id` of a public key, the text of a seed. */
export function encodeKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

// Dialers decode their pinned key text on every dial. Decoding is pure, so canonical texts already
// decoded are remembered (bounded, oldest first); callers always get their own copy.
const DECODED_CACHE_SIZE = 256;
const decoded = new Map<string, Uint8Array>();

/**
 * Parses the base64url text of a 32-byte key. Accepts only the canonical form (43 characters, unused
 * low bits zero), so every key has exactly one text and text comparison is key comparison.
 * Throws AuthError INVALID_KEY.
 */
export function decodeKey(text: string, what = 'key'): Uint8Array {
  const known = decoded.get(text);
  if (known) return Uint8Array.from(known);
  if (!KEY_TEXT.test(text)) {
    throw authError(
      'INVALID_KEY',
      `${what} must be ${KEY_TEXT_LENGTH} base64url characters, got ${describe(text)}`,
    );
  }
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length !== PUBLIC_KEY_LENGTH || bytes.toString('base64url') !== text) {
    throw authError(
      'INVALID_KEY',
      `${what} is not the canonical base64url text of 32 bytes: ${describe(text)}`,
    );
  }
  const key = new Uint8Array(bytes);
  decoded.set(text, key);
  if (decoded.size > DECODED_CACHE_SIZE) decoded.delete(decoded.keys().next().value as string);
  return Uint8Array.from(key);
}

/** A key given as bytes or text, as 32 bytes. Throws AuthError INVALID_KEY. */
export function toKeyBytes(key: Uint8Array | string, what = 'key'): Uint8Array {
  if (typeof key === 'string') return decodeKey(key, what);
  if (key.length !== PUBLIC_KEY_LENGTH) {
    throw authError('INVALID_KEY', `${what} must be ${PUBLIC_KEY_LENGTH} bytes, got ${key.length}`);
  }
  return new Uint8Array(key);
}

/**
 * A short fingerprint of a public key for logs and prompts: `SHA256:` and the first 16 base64url
 * characters of the key's SHA-256. Not a substitute for the full key where trust is decided.
 */
export function fingerprint(publicKey: Uint8Array): string {
  const hash = createHash('sha256').update(publicKey).digest('base64url');
  return `SHA256:${hash.slice(0, FINGERPRINT_CHARS)}`;
}

/** Byte equality of two keys (public keys are not secret, so no constant-time compare is needed). */
export function keysEqual(a: Uint8Array, b: Uint8Array): boolean {
  // A plain loop: Buffer.from(a) would copy both keys, and dialers compare keys on every handshake.
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describe(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return `${JSON.stringify(shown)} (${text.length} characters)`;
}
