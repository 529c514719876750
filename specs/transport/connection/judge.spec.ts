import 'reflect-metadata';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { AuthorizedKeys, Identity, makeCertificate, signGrant } from '../../../src/auth/index.js';
import { judgeClient } from '../../../src/transport/connection/judge.js';

const HOUR = 60 * 60 * 1000;
const opts = { clockToleranceMs: 0 };

async function certOf(identity: Identity, grant?: Uint8Array): Promise<X509Certificate> {
  return new X509Certificate((await makeCertificate(identity, grant ? { grant } : {})).certPem);
}

describe('judging a TLS client', () => {
  it('accepts an authorized key with its name, and refuses unknown and missing certificates', async () => {
    const alice = Identity.generate();
    const keys = AuthorizedKeys.fromList([{ key: alice.id, name: 'alice' }]);
    const accepted = judgeClient(await certOf(alice), keys, opts);
    assert.ok(accepted.ok);
    assert.equal(accepted.peer?.name, 'alice');
    assert.equal(accepted.peer?.id, alice.id);
    const stranger = judgeClient(await certOf(Identity.generate()), keys, opts);
    assert.equal(!stranger.ok && stranger.reason, 'UNKNOWN_KEY');
    const none = judgeClient(undefined, keys, opts);
    assert.equal(!none.ok && none.reason, 'NO_CERTIFICATE');
  });

  it('looks the key up on every connection: a certificate seen before is refused once its key is removed', async () => {
    const alice = Identity.generate();
    const cert = await certOf(alice);
    const keys = AuthorizedKeys.fromList([{ key: alice.id, name: 'alice' }]);
    assert.ok(judgeClient(cert, keys, opts).ok);
    keys.update([{ key: alice.id, name: 'renamed' }]);
    const renamed = judgeClient(cert, keys, opts);
    assert.equal(renamed.ok && renamed.peer?.name, 'renamed');
    keys.update([]);
    const revoked = judgeClient(cert, keys, opts);
    assert.equal(!revoked.ok && revoked.reason, 'UNKNOWN_KEY');
  });

  it('checks the validity window on every connection', async () => {
    const alice = Identity.generate();
    const material = await makeCertificate(alice, { validityMs: HOUR });
    const cert = new X509Certificate(material.certPem);
    const keys = AuthorizedKeys.fromList([{ key: alice.id, name: 'alice' }]);
    assert.ok(judgeClient(cert, keys, opts).ok);
    const late = judgeClient(cert, keys, { ...opts, now: new Date(material.notAfter.getTime() + 1000) });
    assert.equal(!late.ok && late.reason, 'BAD_CERTIFICATE');
  });

  it('checks a grant on every connection: its admin must still be trusted, and it must not have expired', async () => {
    const admin = Identity.generate();
    const bob = Identity.generate();
    const notAfter = new Date(Date.now() + HOUR);
    const cert = await certOf(bob, signGrant(admin, { subject: bob.publicKey, notAfter, name: 'bob' }));
    const keys = AuthorizedKeys.fromList([{ key: admin.id, name: 'ops', admin: true }]);
    const granted = judgeClient(cert, keys, opts);
    assert.equal(granted.ok && granted.peer?.name, 'bob');
    const expired = judgeClient(cert, keys, { ...opts, now: new Date(notAfter.getTime() + 1000) });
    assert.equal(!expired.ok && expired.reason, 'EXPIRED');
    keys.update([]);
    const untrusted = judgeClient(cert, keys, opts);
    assert.equal(!untrusted.ok && untrusted.reason, 'UNKNOWN_KEY');
  });
});
