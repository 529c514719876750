/**
 * A watched authorized-keys file read like sshd reads authorized_keys, over real TLS connections: a
 * removal always takes effect, a bad line loses only itself (and is reported with file and line), and
 * a file that others could have written grants nothing.
 */
import assert from 'node:assert/strict';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthorizedKeys, Identity, isAuthError } from '../../../src/auth/index.js';
import { dialTls, type Listener, listenTls } from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { closeAll, until } from './helpers.js';

const server = Identity.generate();
const alice = Identity.generate();
const bob = Identity.generate();

const dial = (listener: Listener, identity: Identity) =>
  dialTls({ identity, host: '127.0.0.1', port: listener.port, serverKey: server.id, session: false });

/** True when `identity` can connect now (the connection is closed again); false on UNKNOWN_KEY. */
async function admitted(listener: Listener, identity: Identity): Promise<boolean> {
  try {
    (await dial(listener, identity)).socket.destroy();
    return true;
  } catch (err) {
    if (isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'UNKNOWN_KEY') return false;
    throw err;
  }
}

/** Polls `admitted` until it gives `expected` (a watched file reloads after a short debounce). */
async function untilAdmitted(listener: Listener, identity: Identity, expected: boolean): Promise<void> {
  const end = Date.now() + 5000;
  while ((await admitted(listener, identity)) !== expected) {
    if (Date.now() > end) throw new Error(`admitted stayed ${!expected}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('TLS listener with a watched authorized-keys file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxchan-revocation-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an edit that removes alice and adds a malformed line revokes alice, and reports the line', async () => {
    const file = join(dir, 'typo');
    await writeFile(file, `${alice.id} alice\n${bob.id} bob\n`);
    const errors: Error[] = [];
    const keys = await AuthorizedKeys.load(file, { watch: true, onError: (e) => errors.push(e) });
    const listener = await listenTls({ identity: server, authorizedKeys: keys }, () => undefined);
    try {
      assert.ok(await admitted(listener, alice));
      await writeFile(file, `${bob.id} bob\n${bob.id.slice(0, 20)} carol (pasted half a key)\n`);
      await untilAdmitted(listener, alice, false);
      assert.ok(await admitted(listener, bob), 'the good line still applies');
      await until(() => errors.length === 1);
      assert.ok(isAuthError(errors[0], 'AUTHORIZED_KEYS_INVALID'));
      assert.equal(errors[0].file, file);
      assert.equal(errors[0].line, 2);
      assert.match(errors[0].message, new RegExp(`${file}:2: `));
    } finally {
      keys.close();
      await closeAll(listener);
    }
  });

  it('a group- or world-writable file is refused at load; at reload it grants nothing until fixed', async () => {
    const file = join(dir, 'modes');
    await writeFile(file, `${alice.id} alice\n`);
    for (const mode of [0o666, 0o620]) {
      await chmod(file, mode);
      await assert.rejects(AuthorizedKeys.load(file), (e: unknown) => {
        return (
          isAuthError(e, 'AUTHORIZED_KEYS_PERMISSIONS') && e.file === file && /chmod go-w/.test(e.message)
        );
      });
    }
    await chmod(file, 0o644);
    const errors: Error[] = [];
    const keys = await AuthorizedKeys.load(file, { watch: true, onError: (e) => errors.push(e) });
    const listener = await listenTls({ identity: server, authorizedKeys: keys }, () => undefined);
    try {
      assert.ok(await admitted(listener, alice));
      await chmod(file, 0o666);
      await writeFile(file, `${alice.id} alice\n${bob.id} bob (added by anyone)\n`);
      await untilAdmitted(listener, alice, false);
      assert.equal(await admitted(listener, bob), false, 'a world-writable file grants nothing');
      assert.ok(errors.some((e) => isAuthError(e, 'AUTHORIZED_KEYS_PERMISSIONS')));
      await chmod(file, 0o600);
      await writeFile(file, `${alice.id} alice\n`);
      await untilAdmitted(listener, alice, true);
    } finally {
      keys.close();
      await closeAll(listener);
    }
  });

  it('a file in a directory others may write to is refused, unless the directory is sticky', async () => {
    const open = await mkdtemp(join(dir, 'open-'));
    const file = join(open, 'authorized_keys');
    await writeFile(file, `${alice.id} alice\n`);
    try {
      await chmod(open, 0o777);
      await assert.rejects(AuthorizedKeys.load(file), (e: unknown) =>
        isAuthError(e, 'AUTHORIZED_KEYS_PERMISSIONS'),
      );
      await chmod(open, 0o1777);
      assert.equal((await AuthorizedKeys.load(file)).size, 1);
    } finally {
      await chmod(open, 0o700);
    }
  });

  it('a file owned by another user (not root) is refused', {
    skip: process.getuid?.() !== 0 ? 'needs root to give a file away' : false,
  }, async () => {
    const file = join(dir, 'owned');
    await writeFile(file, `${alice.id} alice\n`);
    await chown(file, 12345, 12345);
    await assert.rejects(
      AuthorizedKeys.load(file),
      (e: unknown) => isAuthError(e, 'AUTHORIZED_KEYS_PERMISSIONS') && /uid 12345/.test(e.message),
    );
  });
});
