/**
 * The browser's judge of a proven key (a list in code, grants checked with tweetnacl) gives the same
 * verdicts as Node's judgeKey over AuthorizedKeys, for listed, unlisted, admin, granted, expired,
 * untrusted and forged cases. It has no Node built-ins, so it runs here as it runs in a page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAuthError } from '../../../src/auth/errors.js';
import { AuthorizedKeys, Identity, signGrant } from '../../../src/auth/index.js';
import { keyListJudge } from '../../../src/platform/browser/key-list-judge.js';
import { judgeKey } from '../../../src/transport/connection/judge.js';

const admin = Identity.generate();
const stranger = Identity.generate();
const listed = Identity.generate();
const list = [
  { key: listed.id, name: 'alice' },
  { key: admin.id, name: 'ops', admin: true },
];
const hour = 3600_000;

function grant(signer: Identity, subject: Identity, notAfter: number, name = 'bob'): Uint8Array {
  return signGrant(signer, { subject: subject.publicKey, notAfter: new Date(notAfter), name });
}

describe('keyListJudge (the browser judge) against judgeKey', () => {
  const web = keyListJudge(list);
  const node = AuthorizedKeys.fromList(list);
  const subject = Identity.generate();
  const forged = grant(admin, subject, Date.now() + hour);
  forged[forged.length - 1]! ^= 1;
  const cases: [string, Identity, Uint8Array | undefined, string][] = [
    ['a listed key', listed, undefined, 'ok alice'],
    ['an unlisted key', stranger, undefined, 'UNKNOWN_KEY'],
    ['an admin key (admins sign, they do not connect)', admin, undefined, 'UNKNOWN_KEY'],
    ['a grant by an admin', subject, grant(admin, subject, Date.now() + hour), 'ok bob'],
    ['an expired grant', subject, grant(admin, subject, Date.now() - hour), 'EXPIRED'],
    [
      'a grant by a key that is no admin',
      subject,
      grant(stranger, subject, Date.now() + hour),
      'UNKNOWN_KEY',
    ],
    ['a grant for another key', stranger, grant(admin, subject, Date.now() + hour), 'EXPIRED'],
    ['a forged grant', subject, forged, 'EXPIRED'],
    ['bytes that are no grant', subject, new Uint8Array(10), 'EXPIRED'],
  ];
  for (const [what, who, g, expected] of cases) {
    it(`${what}: ${expected}`, async () => {
      const mine = await web(who.publicKey, g);
      const theirs = judgeKey(who.publicKey, g, node);
      const show = (v: typeof theirs) => (v.ok ? `ok ${v.peer?.name}` : v.reason);
      assert.equal(show(mine), expected);
      assert.equal(show(mine), show(theirs));
      assert.deepEqual(mine.peer, theirs.peer);
      if (!mine.ok && !theirs.ok) assert.equal(mine.message, theirs.message);
    });
  }

  it('refuses a malformed list as AuthorizedKeys.fromList does', () => {
    assert.throws(
      () =>
        keyListJudge([
          { key: listed.id, name: 'a' },
          { key: listed.id, name: 'b' },
        ]),
      (err) => isAuthError(err) && err.code === 'AUTHORIZED_KEYS_INVALID',
    );
    assert.throws(
      () => keyListJudge([{ key: 'not a key', name: 'a' }]),
      (err) => isAuthError(err) && err.code === 'INVALID_KEY',
    );
  });
});
