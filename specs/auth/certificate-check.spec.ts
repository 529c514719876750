import 'reflect-metadata';
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import {
  checkCertificate,
  encodeKey,
  fingerprint,
  GRANT_URI_PREFIX,
  Identity,
  isAuthError,
  makeCertificate,
  peerOf,
  signGrant,
  verifyCertificate,
} from '../../src/auth/index.js';

const HOUR = 60 * 60 * 1000;

/** A self-signed ed25519 certificate with the given subject alternative name URIs (made by hand). */
async function certificateWithUris(uris: string[]): Promise<X509Certificate> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=two grants',
    notBefore: new Date(Date.now() - HOUR),
    notAfter: new Date(Date.now() + HOUR),
    signingAlgorithm: { name: 'Ed25519' },
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url', value })))],
  });
  return new X509Certificate(new Uint8Array(cert.rawData));
}

describe('certificate checks (remembered per certificate)', () => {
  it('check the dates on every use, also for a certificate seen before', async () => {
    const material = await makeCertificate(Identity.generate(), { validityMs: HOUR });
    const cert = new X509Certificate(material.certPem);
    verifyCertificate(cert); // remembered now
    const late = new Date(material.notAfter.getTime() + 60_000);
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => verifyCertificate(cert, { now: late, clockToleranceMs: 0 }),
        (e: unknown) => isAuthError(e, 'CERTIFICATE_INVALID') && /expired/.test(e.message),
      );
      assert.throws(
        () => checkCertificate(cert, material.notBefore.getTime() - 60_000, 0),
        (e: unknown) => isAuthError(e, 'CERTIFICATE_INVALID') && /not valid before/.test(e.message),
      );
    }
    verifyCertificate(cert, { now: new Date() });
  });

  it('check in full a certificate that differs in any byte from one seen before', async () => {
    const der = Buffer.from(new X509Certificate((await makeCertificate(Identity.generate())).certPem).raw);
    verifyCertificate(der); // the genuine one is remembered
    const forged = Buffer.from(der);
    forged[forged.length - 1]! ^= 0x01; // inside the signature
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => verifyCertificate(forged),
        (e: unknown) => isAuthError(e, 'CERTIFICATE_INVALID') && /signature/.test(e.message),
        'a failed check is not remembered as a success',
      );
    }
    verifyCertificate(der);
  });

  it('hand out copies: changing an answer does not change the next one', async () => {
    const me = Identity.generate();
    const cert = new X509Certificate((await makeCertificate(me)).certPem);
    const first = verifyCertificate(cert);
    first.publicKey.fill(0);
    first.notAfter.setTime(0);
    const second = verifyCertificate(cert);
    assert.equal(encodeKey(second.publicKey), me.id);
    assert.notEqual(second.notAfter.getTime(), 0);
    const facts = checkCertificate(cert, Date.now(), 0);
    const peer = peerOf(facts, 'me');
    peer.publicKey.fill(0);
    assert.deepEqual(peerOf(facts).publicKey, me.publicKey);
    assert.equal(encodeKey(checkCertificate(cert, Date.now(), 0).publicKey), me.id);
  });

  it('give the key as bytes, text and fingerprint, the dates, and the grant', async () => {
    const me = Identity.generate();
    const grant = signGrant(Identity.generate(), {
      subject: me.publicKey,
      notAfter: new Date(Date.now() + HOUR),
      name: 'bob',
    });
    const material = await makeCertificate(me, { grant });
    const facts = checkCertificate(new X509Certificate(material.certPem), Date.now(), 0);
    assert.deepEqual(facts.publicKey, me.publicKey);
    assert.equal(facts.id, me.id);
    assert.equal(facts.fingerprint, fingerprint(me.publicKey));
    assert.equal(facts.notBefore, material.notBefore.getTime());
    assert.equal(facts.notAfter, material.notAfter.getTime());
    assert.deepEqual(facts.grant, grant);
    assert.equal(facts.grantProblem, undefined);
    assert.deepEqual(peerOf(facts, 'x'), {
      publicKey: me.publicKey,
      id: me.id,
      fingerprint: me.fingerprint,
      name: 'x',
    });
  });

  it('report an unreadable grant instead of throwing, every time', async () => {
    const two = await certificateWithUris([`${GRANT_URI_PREFIX}AAAA`, `${GRANT_URI_PREFIX}BBBB`]);
    const bad = await certificateWithUris([`${GRANT_URI_PREFIX}not base64!`]);
    for (let i = 0; i < 2; i++) {
      assert.match(checkCertificate(two, Date.now(), 0).grantProblem ?? '', /more than one grant/);
      assert.match(checkCertificate(bad, Date.now(), 0).grantProblem ?? '', /not base64url/);
      assert.equal(checkCertificate(bad, Date.now(), 0).grant, undefined);
    }
  });
});
