import 'reflect-metadata';
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import {
  certificateGrant,
  encodeKey,
  Identity,
  isAuthError,
  makeCertificate,
  signGrant,
  verifyCertificate,
} from '../../src/auth/index.js';

const HOUR = 60 * 60 * 1000;

describe('certificates', () => {
  it('are self-signed ed25519 certificates of the identity key, valid for 24 h by default', async () => {
    const me = Identity.generate();
    const before = Date.now();
    const material = await makeCertificate(me);
    const cert = new X509Certificate(material.certPem);
    assert.equal(cert.publicKey.asymmetricKeyType, 'ed25519');
    assert.equal(cert.publicKey.export({ format: 'jwk' }).x, me.id);
    assert.ok(cert.verify(cert.publicKey), 'signed by its own key');
    assert.equal(cert.subject, `CN=rxchan ${me.id}`);
    assert.equal(cert.issuer, cert.subject);
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.equal(cert.subjectAltName, undefined);
    const notAfter = new Date(cert.validTo).getTime();
    const notBefore = new Date(cert.validFrom).getTime();
    assert.equal(notAfter, material.notAfter.getTime());
    assert.equal(notBefore, material.notBefore.getTime());
    assert.ok(Math.abs(notAfter - (before + 24 * HOUR)) < 5000, 'about 24 h from now');
    assert.ok(notBefore <= before - 4 * 60 * 1000, 'backdated a few minutes for skewed clocks');
    // The key material is the identity's own private key.
    const { createPrivateKey } = await import('node:crypto');
    assert.equal(createPrivateKey(material.keyPem).export({ format: 'jwk' }).x, me.id);
    const verified = verifyCertificate(cert);
    assert.equal(encodeKey(verified.publicKey), me.id);
    // Serial numbers are random.
    const other = new X509Certificate((await makeCertificate(me)).certPem);
    assert.notEqual(other.serialNumber, cert.serialNumber);
  });

  it('honour validityMs and refuse a nonsensical one', async () => {
    const material = await makeCertificate(Identity.generate(), { validityMs: HOUR });
    assert.ok(Math.abs(material.notAfter.getTime() - (Date.now() + HOUR)) < 5000);
    await assert.rejects(makeCertificate(Identity.generate(), { validityMs: 0 }), RangeError);
    await assert.rejects(makeCertificate(Identity.generate(), { validityMs: 400 * 24 * HOUR }), RangeError);
  });

  it('verification refuses certificates outside their validity, give or take the tolerance', async () => {
    const material = await makeCertificate(Identity.generate(), { validityMs: HOUR });
    const cert = new X509Certificate(material.certPem);
    const late = new Date(material.notAfter.getTime() + 60_000);
    assert.throws(
      () => verifyCertificate(cert, { now: late, clockToleranceMs: 0 }),
      (e: unknown) => isAuthError(e, 'CERTIFICATE_INVALID'),
    );
    verifyCertificate(cert, { now: late, clockToleranceMs: 120_000 });
    const early = new Date(material.notBefore.getTime() - 60_000);
    assert.throws(
      () => verifyCertificate(cert, { now: early, clockToleranceMs: 0 }),
      (e: unknown) => isAuthError(e, 'CERTIFICATE_INVALID'),
    );
  });

  it('verification refuses a broken signature', async () => {
    const der = Buffer.from(new X509Certificate((await makeCertificate(Identity.generate())).certPem).raw);
    der[der.length - 1]! ^= 0x01; // the last byte is inside the signature
    assert.throws(
      () => verifyCertificate(der),
      (e: unknown) => isAuthError(e, 'CERTIFICATE_INVALID') && /signature/.test(e.message),
    );
    assert.throws(
      () => verifyCertificate(new Uint8Array([1, 2, 3])),
      (e: unknown) => isAuthError(e, 'CERTIFICATE_INVALID'),
    );
  });

  it('verification refuses a key that is not ed25519', async () => {
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=ecdsa',
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + HOUR),
      signingAlgorithm: alg,
      keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    });
    assert.throws(
      () => verifyCertificate(new Uint8Array(cert.rawData)),
      (e: unknown) => isAuthError(e, 'CERTIFICATE_INVALID') && /not ed25519/.test(e.message),
    );
  });

  it('carry a grant in the subject alternative name, and give it back', async () => {
    const me = Identity.generate();
    const grant = signGrant(Identity.generate(), {
      subject: me.publicKey,
      notAfter: new Date(Date.now() + HOUR),
      name: 'bob',
    });
    const cert = new X509Certificate((await makeCertificate(me, { grant })).certPem);
    assert.ok(cert.subjectAltName?.startsWith('URI:rxchan:grant:'));
    assert.deepEqual(certificateGrant(cert), grant);
    assert.equal(certificateGrant(new X509Certificate((await makeCertificate(me)).certPem)), undefined);
    verifyCertificate(cert);
  });
});
