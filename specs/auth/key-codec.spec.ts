/**
 * The Node-free key text codec (key-codec.ts) gives Node's base64url, byte for byte, and refuses the
 * texts that are not canonical; webFingerprint (WebCrypto) equals fingerprint (node:crypto).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { fingerprint, Identity } from '../../src/auth/index.js';
import { decodeKey, fromBase64url, toBase64url } from '../../src/auth/key-codec.js';
import { webFingerprint, webPeerIdentity } from '../../src/auth/web-peer.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('key-codec', () => {
  it('encodes and decodes as Buffer base64url does, for every length up to 100', () => {
    for (let n = 0; n <= 100; n++) {
      for (let round = 0; round < 5; round++) {
        const bytes = randomBytes(n);
        const text = toBase64url(bytes);
        assert.equal(text, bytes.toString('base64url'));
        assert.deepEqual(fromBase64url(text), new Uint8Array(bytes));
      }
    }
  });

  it('refuses characters outside the alphabet, impossible lengths and non-zero unused bits', () => {
    assert.equal(fromBase64url('ab+c'), undefined);
    assert.equal(fromBase64url('ab=c'), undefined);
    assert.equal(fromBase64url('abcde'), undefined);
    assert.equal(fromBase64url('AB'), undefined, 'AB leaves 4 bits set');
    assert.deepEqual(fromBase64url('AA'), Uint8Array.of(0));
    const id = Identity.generate().id;
    // The last of 43 characters carries 2 unused bits: flipping its lowest bit makes a text Buffer
    // would decode to the same bytes, which is not the key's canonical text.
    const sibling = id.slice(0, 42) + ALPHABET[ALPHABET.indexOf(id.at(-1)!) ^ 1]!;
    assert.throws(() => decodeKey(sibling), { code: 'INVALID_KEY' });
    assert.deepEqual(decodeKey(id), new Uint8Array(Buffer.from(id, 'base64url')));
  });

  it('fingerprints with WebCrypto as with node:crypto', async () => {
    for (let i = 0; i < 20; i++) {
      const key = Identity.generate().publicKey;
      assert.equal(await webFingerprint(key), fingerprint(key));
      const peer = await webPeerIdentity(key, 'x');
      assert.equal(peer.id, Buffer.from(key).toString('base64url'));
      assert.equal(peer.fingerprint, fingerprint(key));
      assert.equal(peer.name, 'x');
    }
  });
});
