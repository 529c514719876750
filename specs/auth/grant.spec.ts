import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkGrant,
  decodeGrant,
  Identity,
  isAuthError,
  keysEqual,
  signGrant,
} from '../../src/auth/index.js';
import { hex, vector } from '../support/vectors.js';

const HOUR = 3_600_000;

describe('grants', () => {
  const admin = Identity.generate();
  const subject = Identity.generate();
  const isAdmin = (k: Uint8Array) => keysEqual(k, admin.publicKey);

  it('let the named key in until notAfter, with the grant name', () => {
    const notAfter = new Date(Date.now() + HOUR);
    const bytes = signGrant(admin, { subject: subject.id, notAfter, name: 'bob' });
    const check = checkGrant(bytes, subject.publicKey, isAdmin);
    assert.ok(check.ok);
    assert.equal(check.grant.name, 'bob');
    assert.equal(check.grant.notAfter.getTime(), notAfter.getTime());
    const late = checkGrant(bytes, subject.publicKey, isAdmin, new Date(notAfter.getTime() + 1));
    assert.deepEqual(late.ok ? undefined : late.problem, 'EXPIRED');
  });

  it('do not hold for another key, an untrusted signer, or a changed byte', () => {
    const bytes = signGrant(admin, {
      subject: subject.publicKey,
      notAfter: new Date(Date.now() + HOUR),
      name: 'bob',
    });
    const problem = (b: Uint8Array, key = subject.publicKey, trust = isAdmin) => {
      const c = checkGrant(b, key, trust);
      return c.ok ? 'OK' : c.problem;
    };
    assert.equal(problem(bytes, Identity.generate().publicKey), 'INVALID');
    assert.equal(
      problem(bytes, subject.publicKey, () => false),
      'UNTRUSTED',
    );
    // Every single-byte change breaks the grant (or makes it unreadable / untrusted).
    for (let i = 0; i < bytes.length; i++) {
      const changed = Uint8Array.from(bytes);
      changed[i]! ^= 0x01;
      assert.notEqual(problem(changed), 'OK', `byte ${i}`);
    }
  });

  it('are checked in full on every call, also after the same grant verified', () => {
    const notAfter = new Date(Date.now() + HOUR);
    const bytes = signGrant(admin, { subject: subject.publicKey, notAfter, name: 'bob' });
    assert.ok(checkGrant(bytes, subject.publicKey, isAdmin).ok); // its signature is remembered now
    const problem = (b: Uint8Array, trust = isAdmin, now = new Date()) => {
      const c = checkGrant(b, subject.publicKey, trust, now);
      return c.ok ? 'OK' : c.problem;
    };
    assert.equal(
      problem(bytes, () => false),
      'UNTRUSTED',
      'its admin is asked again',
    );
    assert.equal(problem(bytes, isAdmin, new Date(notAfter.getTime() + 1)), 'EXPIRED');
    assert.equal(checkGrant(bytes, Identity.generate().publicKey, isAdmin).ok, false, 'subject again');
    for (let i = 74 + 3; i < bytes.length; i++) {
      const changed = Uint8Array.from(bytes);
      changed[i]! ^= 0x01; // name or signature: only the signature check can catch it
      assert.notEqual(problem(changed), 'OK', `byte ${i}`);
    }
    assert.equal(problem(bytes), 'OK');
  });

  it('match the documented vector byte for byte', () => {
    const vAdmin = Identity.fromSeed(new Uint8Array(32).fill(1));
    const vSubject = Identity.fromSeed(new Uint8Array(32).fill(2));
    const bytes = signGrant(vAdmin, {
      subject: vSubject.publicKey,
      notAfter: new Date('2030-01-01T00:00:00Z'),
      name: 'bob',
    });
    assert.equal(hex(bytes), hex(vector('grant.bob')));
    const check = checkGrant(
      vector('grant.bob'),
      vSubject.publicKey,
      (k) => keysEqual(k, vAdmin.publicKey),
      new Date('2029-01-01'),
    );
    assert.ok(check.ok);
  });

  it('decode arbitrary bytes to a grant or GRANT_INVALID, never anything else (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 220 }), (bytes) => {
        try {
          decodeGrant(bytes);
        } catch (err) {
          assert.ok(isAuthError(err, 'GRANT_INVALID'), String(err));
        }
        const c = checkGrant(bytes, subject.publicKey, isAdmin);
        assert.equal(c.ok, false);
      }),
    );
    assert.throws(
      () => signGrant(admin, { subject: subject.id, notAfter: new Date(), name: 'x'.repeat(65) }),
      RangeError,
    );
  });
});
