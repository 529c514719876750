/**
 * Node's ed25519 (OpenSSL) for the in-band handshake: the same signatures as tweetnacl (ed25519 is
 * deterministic) in a fraction of the time, which matters on a listener that signs and verifies on
 * every connection. The browser build keeps tweetnacl or WebCrypto.
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { secretSeed } from '../../auth/identity.js';
import { encodeKey, Identity } from '../../auth/index.js';
import type { Ed25519Signer, Ed25519Verify } from './inband.js';

const keys = new WeakMap<Identity, KeyObject>();

/** An Identity signs through OpenSSL; any other signer is used as it is. */
export function nodeSigner(signer: Ed25519Signer): Ed25519Signer {
  if (!(signer instanceof Identity)) return signer;
  let key = keys.get(signer);
  if (!key) {
    const jwk = { kty: 'OKP', crv: 'Ed25519', d: encodeKey(secretSeed(signer)), x: signer.id };
    key = createPrivateKey({ key: jwk, format: 'jwk' });
    keys.set(signer, key);
  }
  const privateKey = key;
  return {
    publicKey: signer.publicKey,
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  };
}

/** OpenSSL's ed25519 verification ({@link Identity.verify}). Never throws. */
export const nodeVerify: Ed25519Verify = (message, signature, publicKey) =>
  Identity.verify(publicKey, message, signature);
