import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeKey, encodeKey, fingerprint, isAuthError, keysEqual } from '../../src/auth/index.js';

describe('key text', () => {
  it('round-trips any 32 bytes through 43 base64url characters', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const text = encodeKey(bytes);
        assert.match(text, /^[A-Za-z0-9_-]{43}$/);
        assert.deepEqual(decodeKey(text), bytes);
      }),
    );
  });

  it('hands every caller its own bytes, also for a text decoded before', () => {
    const bytes = new Uint8Array(32).fill(9);
    const text = encodeKey(bytes);
    const first = decodeKey(text);
    first.fill(0);
    assert.deepEqual(decodeKey(text), bytes);
    assert.notEqual(decodeKey(text), decodeKey(text));
  });

  it('refuses anything that is not the canonical text of 32 bytes, with INVALID_KEY', () => {
    const good = encodeKey(new Uint8Array(32).fill(7));
    const last = good.at(-1)!;
    // The last character carries 4 unused bits; setting one gives the same bytes from another text.
    const nonCanonical = good.slice(0, -1) + String.fromCharCode(last.charCodeAt(0) + 1);
    for (const bad of [
      '',
      'abc',
      `${good}A`,
      good.slice(1),
      `${good.slice(0, -1)}=`,
      `${good.slice(0, -1)}+`,
      nonCanonical,
    ]) {
      assert.throws(
        () => decodeKey(bad),
        (err: unknown) => isAuthError(err, 'INVALID_KEY'),
        bad,
      );
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        try {
          const bytes = decodeKey(text);
          assert.equal(encodeKey(bytes), text);
        } catch (err) {
          assert.ok(isAuthError(err, 'INVALID_KEY'));
        }
      }),
    );
  });

  it('fingerprints are short, stable, and differ between keys', () => {
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(2);
    assert.match(fingerprint(a), /^SHA256:[A-Za-z0-9_-]{16}$/);
    assert.equal(fingerprint(a), fingerprint(Uint8Array.from(a)));
    assert.notEqual(fingerprint(a), fingerprint(b));
    assert.ok(keysEqual(a, Uint8Array.from(a)));
    assert.ok(!keysEqual(a, b));
  });

  it('keys are equal exactly when all their bytes are', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        assert.equal(keysEqual(a, b), Buffer.from(a).equals(Buffer.from(b)));
        assert.ok(keysEqual(a, Uint8Array.from(a)));
      }),
    );
    const key = new Uint8Array(32).fill(5);
    const other = Uint8Array.from(key);
    other[31] = 6;
    assert.ok(!keysEqual(key, other), 'the last byte counts');
    assert.ok(!keysEqual(key, key.subarray(0, 31)));
  });
});
