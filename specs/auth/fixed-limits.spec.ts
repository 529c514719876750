/**
 * Fixed limits of the auth layer (docs/ERRORS.md 6.6), each at its edge: the longest certificate
 * lifetime, how far a certificate is backdated, the clock tolerance `verifyCertificate` allows by
 * default, the longest grant name in bytes, and the quiet time before a watched authorized-keys file is
 * reloaded.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WATCH_DEBOUNCE_MS } from '../../src/auth/authorized-keys.js';
import {
  CERTIFICATE_BACKDATE_MS,
  DEFAULT_CERTIFICATE_VALIDITY_MS,
  DEFAULT_CLOCK_TOLERANCE_MS,
  MAX_CERTIFICATE_VALIDITY_MS,
} from '../../src/auth/certificate.js';
import { MAX_GRANT_NAME_BYTES } from '../../src/auth/grant.js';
import {
  AuthorizedKeys,
  checkGrant,
  decodeGrant,
  Identity,
  isAuthError,
  makeCertificate,
  signGrant,
  verifyCertificate,
} from '../../src/auth/index.js';

const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;
const invalidCertificate = (e: unknown) => isAuthError(e, 'CERTIFICATE_INVALID');

describe('auth fixed limits, at their edges', () => {
  const me = Identity.generate();

  it('MAX_CERTIFICATE_VALIDITY_MS: a certificate may live that long, not a millisecond more', async () => {
    const now = new Date();
    const longest = await makeCertificate(me, { validityMs: MAX_CERTIFICATE_VALIDITY_MS, now });
    assert.equal(longest.notAfter.getTime(), seconds(now.getTime() + MAX_CERTIFICATE_VALIDITY_MS));
    await assert.rejects(makeCertificate(me, { validityMs: MAX_CERTIFICATE_VALIDITY_MS + 1 }), RangeError);
  });

  it('DEFAULT_CERTIFICATE_VALIDITY_MS and CERTIFICATE_BACKDATE_MS: a default certificate’s dates, exactly', async () => {
    const now = new Date(Date.UTC(2030, 0, 1, 12, 0, 0, 500));
    const cert = await makeCertificate(me, { now });
    assert.equal(cert.notBefore.getTime(), seconds(now.getTime() - CERTIFICATE_BACKDATE_MS));
    assert.equal(cert.notAfter.getTime(), seconds(now.getTime() + DEFAULT_CERTIFICATE_VALIDITY_MS));
  });

  it('DEFAULT_CLOCK_TOLERANCE_MS: without clockToleranceMs a certificate is good that far outside its dates, no further', async () => {
    const material = await makeCertificate(me, { validityMs: 60 * 60 * 1000 });
    const cert = new X509Certificate(material.certPem);
    const notAfter = material.notAfter.getTime();
    const notBefore = material.notBefore.getTime();
    verifyCertificate(cert, { now: new Date(notAfter + DEFAULT_CLOCK_TOLERANCE_MS - 1000) });
    verifyCertificate(cert, { now: new Date(notBefore - DEFAULT_CLOCK_TOLERANCE_MS + 1000) });
    assert.throws(
      () => verifyCertificate(cert, { now: new Date(notAfter + DEFAULT_CLOCK_TOLERANCE_MS + 1000) }),
      invalidCertificate,
    );
    assert.throws(
      () => verifyCertificate(cert, { now: new Date(notBefore - DEFAULT_CLOCK_TOLERANCE_MS - 1000) }),
      invalidCertificate,
    );
  });

  it(`MAX_GRANT_NAME_BYTES: a name of ${MAX_GRANT_NAME_BYTES} UTF-8 bytes is signed and read; one byte more is not`, () => {
    const admin = Identity.generate();
    const subject = Identity.generate();
    const notAfter = new Date(Date.now() + 60_000);
    const name = 'é'.repeat(MAX_GRANT_NAME_BYTES / 2); // two bytes each
    const bytes = signGrant(admin, { subject: subject.id, notAfter, name });
    assert.equal(decodeGrant(bytes).name, name);
    const check = checkGrant(bytes, subject.publicKey, (k) => Buffer.from(k).equals(admin.publicKey));
    assert.ok(check.ok && check.grant.name === name);
    assert.throws(() => signGrant(admin, { subject: subject.id, notAfter, name: `${name}a` }), RangeError);
    // A grant made elsewhere that says its name is one byte longer is refused on reading.
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    longer[73] = MAX_GRANT_NAME_BYTES + 1; // the name-length byte
    assert.throws(
      () => decodeGrant(longer),
      (e: unknown) => isAuthError(e, 'GRANT_INVALID'),
    );
  });
});

describe('a watched authorized-keys file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxchan-debounce-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`WATCH_DEBOUNCE_MS: is reloaded ${WATCH_DEBOUNCE_MS} ms after it stops changing, once for a burst of edits`, async () => {
    const alice = Identity.generate();
    const bob = Identity.generate();
    const file = join(dir, 'authorized_keys');
    await writeFile(file, `${alice.id} alice\n`);
    const errors: Error[] = [];
    const keys = await AuthorizedKeys.load(file, { watch: true, onError: (e) => errors.push(e) });
    const until = async (check: () => boolean, what: string) => {
      for (const end = Date.now() + WATCH_DEBOUNCE_MS + 3000; !check(); ) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    try {
      // One edit: not applied before the quiet time has passed.
      const started = performance.now();
      await writeFile(file, `${alice.id} alice\n${bob.id} bob\n`);
      await until(() => keys.lookup(bob.publicKey) !== undefined, 'bob to be added');
      const took = performance.now() - started;
      assert.ok(took >= WATCH_DEBOUNCE_MS - 2, `reloaded ${took} ms after the edit`);
      // A burst of edits closer together than the quiet time: each says a bad line, so each reload
      // reports one error. Fewer reloads than edits: the burst was coalesced.
      const edits = 5;
      for (let i = 0; i < edits; i++) {
        await writeFile(file, `${alice.id} alice\nbad line ${i}\n`);
        await new Promise((resolve) => setTimeout(resolve, WATCH_DEBOUNCE_MS / 10));
      }
      await until(() => keys.lookup(bob.publicKey) === undefined, 'bob to be removed');
      await new Promise((resolve) => setTimeout(resolve, 2 * WATCH_DEBOUNCE_MS));
      assert.ok(errors.length >= 1 && errors.length < edits, `${errors.length} reloads for ${edits} edits`);
      assert.ok(errors.every((e) => isAuthError(e, 'AUTHORIZED_KEYS_INVALID')));
    } finally {
      keys.close();
    }
  });
});
