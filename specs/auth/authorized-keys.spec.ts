import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthorizedKeys, Identity, isAuthError } from '../../src/auth/index.js';

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('AuthorizedKeys', () => {
  let dir: string;
  const alice = Identity.generate();
  const bob = Identity.generate();
  const admin = Identity.generate();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxchan-authkeys-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('looks keys up from a list in code, and keeps admins apart', () => {
    const keys = AuthorizedKeys.fromList([
      { key: alice.publicKey, name: 'alice' },
      { key: admin.id, name: 'ops', admin: true },
    ]);
    assert.equal(keys.lookup(alice.publicKey)?.name, 'alice');
    assert.equal(keys.lookup(bob.publicKey), undefined);
    assert.equal(keys.lookup(admin.publicKey), undefined, 'an admin line does not let the admin connect');
    assert.equal(keys.admin(admin.publicKey)?.name, 'ops');
    assert.equal(keys.lookupId(alice.id)?.name, 'alice', 'by text, as the handshake looks keys up');
    assert.equal(keys.lookupId(admin.id), undefined);
    assert.equal(keys.lookupId('not a key'), undefined);
    assert.equal(keys.size, 1);
    keys.update([{ key: bob.id, name: 'bob' }]);
    assert.equal(keys.lookup(alice.publicKey), undefined);
    assert.equal(keys.lookup(bob.publicKey)?.name, 'bob');
    assert.throws(
      () => keys.update([{ key: 'nope', name: 'x' }]),
      (e: unknown) => isAuthError(e, 'INVALID_KEY'),
    );
    assert.equal(keys.lookup(bob.publicKey)?.name, 'bob', 'a failed update changes nothing');
    assert.throws(
      () =>
        AuthorizedKeys.fromList([
          { key: bob.id, name: 'b' },
          { key: bob.publicKey, name: 'b2' },
        ]),
      (e: unknown) => isAuthError(e, 'AUTHORIZED_KEYS_INVALID'),
    );
    assert.throws(
      () => AuthorizedKeys.fromList([{ key: bob.id, name: '' }]),
      (e: unknown) => isAuthError(e, 'AUTHORIZED_KEYS_INVALID'),
    );
  });

  it('refuses a malformed list entry (as from JSON) with AUTHORIZED_KEYS_INVALID naming the entry', () => {
    const bad: unknown[][] = [
      [{ key: bob.id, name: 'bob' }, { key: alice.id }],
      [
        { key: bob.id, name: 'bob' },
        { key: alice.id, name: 42 },
      ],
      [{ key: bob.id, name: 'bob' }, null],
      [{ key: bob.id, name: 'bob' }, 'x'],
      [{ key: bob.id, name: 'bob' }, { name: 'alice' }],
    ];
    for (const list of bad) {
      assert.throws(
        () => AuthorizedKeys.fromList(list as never),
        (e: unknown) =>
          isAuthError(e, 'AUTHORIZED_KEYS_INVALID') && /authorized key #1/.test((e as Error).message),
        JSON.stringify(list),
      );
    }
    assert.throws(
      () => AuthorizedKeys.fromList({} as never),
      (e: unknown) => isAuthError(e, 'AUTHORIZED_KEYS_INVALID'),
    );
    const keys = AuthorizedKeys.fromList([{ key: bob.id, name: 'bob' }]);
    assert.throws(
      () => keys.update([null as never]),
      (e: unknown) => isAuthError(e, 'AUTHORIZED_KEYS_INVALID'),
    );
    assert.equal(keys.lookup(bob.publicKey)?.name, 'bob', 'a failed update changes nothing');
  });

  it('reloads its file on request: bad lines grant nothing, a file that cannot be read grants nothing', async () => {
    const file = join(dir, 'reload');
    await writeFile(file, `${alice.id} alice\n`);
    const errors: Error[] = [];
    const keys = await AuthorizedKeys.load(file, { onError: (e) => errors.push(e) });
    assert.equal(keys.lookup(alice.publicKey)?.name, 'alice');
    await writeFile(file, `# alice revoked\n${bob.id} bob\n`);
    assert.deepEqual(await keys.reload(), []);
    assert.equal(keys.lookup(alice.publicKey), undefined);
    assert.equal(keys.lookup(bob.publicKey)?.name, 'bob');
    await writeFile(file, `${bob.id}\n${alice.id} alice\n`);
    const problems = await keys.reload();
    assert.equal(problems.length, 1);
    assert.ok(isAuthError(problems[0], 'AUTHORIZED_KEYS_INVALID') && problems[0].file === file);
    assert.equal(problems[0].line, 1);
    assert.deepEqual(errors, problems, 'each bad line also goes to onError');
    assert.equal(keys.lookup(bob.publicKey), undefined, 'a bad line grants nothing');
    assert.equal(keys.lookup(alice.publicKey)?.name, 'alice');
    await rm(file);
    await assert.rejects(keys.reload(), (e: unknown) => isAuthError(e, 'KEY_FILE_NOT_FOUND'));
    assert.equal(keys.size, 0, 'a file that is gone grants nothing');
    assert.ok(isAuthError(errors.at(-1), 'KEY_FILE_NOT_FOUND'));
    await assert.rejects(AuthorizedKeys.load(join(dir, 'missing')), (e: unknown) =>
      isAuthError(e, 'KEY_FILE_NOT_FOUND'),
    );
    await assert.rejects(AuthorizedKeys.parse('').reload(), TypeError);
  });

  it('watches its file: edits in place and replace-by-rename are picked up', async () => {
    const file = join(dir, 'watched');
    await writeFile(file, `${alice.id} alice\n`);
    const errors: Error[] = [];
    const keys = await AuthorizedKeys.load(file, { watch: true, onError: (e) => errors.push(e) });
    try {
      await writeFile(file, `${alice.id} alice\n${bob.id} bob\n`);
      await until(() => keys.lookup(bob.publicKey) !== undefined);
      const temp = join(dir, 'watched.new');
      await writeFile(temp, `${bob.id} bob\n`);
      await rename(temp, file);
      await until(() => keys.lookup(alice.publicKey) === undefined);
      await writeFile(file, `garbage\n${bob.id} bob\n`);
      await until(() => errors.length > 0);
      assert.ok(isAuthError(errors[0], 'AUTHORIZED_KEYS_INVALID') && errors[0].line === 1);
      assert.equal(keys.lookup(bob.publicKey)?.name, 'bob', 'the good line still applies');
    } finally {
      keys.close();
    }
  });
});
