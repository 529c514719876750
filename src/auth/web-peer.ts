/**
 * A verified key's {@link PeerIdentity} with WebCrypto instead of node:crypto (the browser build): the
 * same `id` and `fingerprint` as `peerIdentity()` on Node, computed asynchronously.
 */
import type { PeerIdentity } from './identity.js';
import { encodeKey, toBase64url } from './key-codec.js';

/** Characters of the hash kept in a fingerprint (as key-text.ts FINGERPRINT_CHARS). */
const FINGERPRINT_CHARS = 16;

/** `SHA256:` and the first 16 base64url characters of the key's SHA-256, as `fingerprint()` on Node. */
export async function webFingerprint(publicKey: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', Uint8Array.from(publicKey)));
  return `SHA256:${toBase64url(hash).slice(0, FINGERPRINT_CHARS)}`;
}

/** A {@link PeerIdentity} for a verified public key (no name: a server we pinned). */
export async function webPeerIdentity(publicKey: Uint8Array, name?: string): Promise<PeerIdentity> {
  const key = Uint8Array.from(publicKey);
  return { publicKey: key, id: encodeKey(key), fingerprint: await webFingerprint(key), name };
}
