/**
 * BrowserIdentity where Node can run it: WebCrypto Ed25519 (Node has it) and tweetnacl; no IndexedDB
 * here, so `load()` falls back to a key in memory. Chromium covers IndexedDB (specs/browser/websocket).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrowserIdentity } from '../../src/auth/browser-identity.js';
import { Identity } from '../../src/auth/index.js';

describe('BrowserIdentity (on Node)', () => {
  it('signs with a non-extractable WebCrypto key: signatures that ed25519 verifies', async () => {
    const me = await BrowserIdentity.generate();
    assert.equal(me.kind, 'webcrypto');
    assert.equal(me.persisted, false);
    assert.equal(me.id, Buffer.from(me.publicKey).toString('base64url'));
    const message = new TextEncoder().encode('transcript');
    const signature = await me.sign(message);
    assert.equal(signature.length, 64);
    assert.equal(Identity.verify(me.publicKey, message, signature), true);
    assert.equal(Identity.verify(me.publicKey, new TextEncoder().encode('other'), signature), false);
  });

  it('signs with tweetnacl when asked (or when WebCrypto has no Ed25519)', async () => {
    const me = await BrowserIdentity.generate({ tweetnacl: true });
    assert.equal(me.kind, 'tweetnacl');
    const message = Uint8Array.of(1, 2, 3);
    assert.equal(Identity.verify(me.publicKey, message, await me.sign(message)), true);
  });

  it('load() without IndexedDB: a fresh key in memory each time', async () => {
    const a = await BrowserIdentity.load('x');
    const b = await BrowserIdentity.load('x');
    assert.equal(a.persisted, false);
    assert.notEqual(a.id, b.id);
    assert.equal(await BrowserIdentity.webCryptoEd25519(), true);
  });
});
