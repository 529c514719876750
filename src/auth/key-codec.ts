/**
 * Key bytes and their base64url text (RFC 4648 §5, no padding), with no Node built-ins: shared by the
 * auth layer on Node and by the browser build (its identities and the in-band client). Pure functions.
 */
import { authError } from './errors.js';

/** Bytes in an ed25519 public key. */
export const PUBLIC_KEY_LENGTH = 32;
/** Bytes in an ed25519 seed (the secret from which the key pair is derived). */
export const SEED_LENGTH = 32;
/** Bytes in an ed25519 signature. */
export const SIGNATURE_LENGTH = 64;
/** Characters in the base64url text of 32 bytes (no padding). */
export const KEY_TEXT_LENGTH = 43;

const KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/** base64url text (no padding) of any bytes. */
export function toBase64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const left = bytes.length - i;
  if (left === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
  } else if (left === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

/**
 * The bytes of base64url text (no padding). Returns undefined for a character outside the alphabet,
 * a length no byte count gives (4k+1), or unused low bits that are not zero (a text that is not the
 * canonical one of its bytes).
 */
export function fromBase64url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? VALUES[c]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

/** base64url text of 32 key bytes: the `id` of a public key, the text of a seed. */
export function encodeKey(bytes: Uint8Array): string {
  return toBase64url(bytes);
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
  if (typeof text !== 'string' || !KEY_TEXT.test(text)) {
    throw authError(
      'INVALID_KEY',
      `${what} must be ${KEY_TEXT_LENGTH} base64url characters, got ${describe(text)}`,
    );
  }
  const key = fromBase64url(text);
  if (key === undefined || key.length !== PUBLIC_KEY_LENGTH) {
    throw authError(
      'INVALID_KEY',
      `${what} is not the canonical base64url text of 32 bytes: ${describe(text)}`,
    );
  }
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

/** Byte equality of two keys (public keys are not secret, so no constant-time compare is needed). */
export function keysEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describe(text: string): string {
  if (typeof text !== 'string') return typeof text;
  const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return `${JSON.stringify(shown)} (${text.length} characters)`;
}
