import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkGrant, Identity, keysEqual } from '../src/auth/index.js';

// dist/specs/cli.spec.js -> dist/src/cli.js: the real bin, run as `npx rxchan` would run it.
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli.js');

function rxchan(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rxchan CLI', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxchan-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is an executable script with a node shebang', async () => {
    assert.ok((await readFile(CLI, 'utf8')).startsWith('#!/usr/bin/env node\n'));
  });

  it('keygen writes a private key file and prints its public key', async () => {
    const file = join(dir, 'id.key');
    const r = rxchan('keygen', '--out', file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[A-Za-z0-9_-]{43}\n$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const me = await Identity.load(file);
    assert.equal(r.stdout.trim(), me.id);
    assert.ok(r.stderr.includes(me.fingerprint));
    const again = rxchan('keygen', '--out', file);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /KEY_FILE_EXISTS/);
    assert.equal((await Identity.load(file)).id, me.id, 'the existing key was not replaced');
    const forced = rxchan('keygen', '-o', file, '--force');
    assert.equal(forced.code, 0);
    assert.notEqual(forced.stdout.trim(), me.id);
  });

  it("pubkey prints a key file's public key, and refuses a readable key file with the fix", async () => {
    const file = join(dir, 'p.key');
    const me = Identity.generate();
    await me.save(file);
    const ok = rxchan('pubkey', file);
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout.trim(), me.id);
    await chmod(file, 0o644);
    const bad = rxchan('pubkey', file);
    assert.equal(bad.code, 1);
    assert.ok(bad.stderr.includes(`chmod 600 ${file}`));
    assert.match(bad.stderr, /KEY_FILE_PERMISSIONS/);
  });

  it('grant signs a grant the server side accepts', async () => {
    const adminFile = join(dir, 'admin.key');
    const admin = Identity.generate();
    await admin.save(adminFile);
    const bob = Identity.generate();
    const r = rxchan(
      'grant',
      '--admin',
      adminFile,
      '--key',
      bob.id,
      '--until',
      '2099-01-01T00:00:00Z',
      '--name',
      'bob',
    );
    assert.equal(r.code, 0, r.stderr);
    const check = checkGrant(Buffer.from(r.stdout.trim(), 'base64url'), bob.publicKey, (k) =>
      keysEqual(k, admin.publicKey),
    );
    assert.ok(check.ok && check.grant.name === 'bob');
    assert.equal(
      rxchan('grant', '--admin', adminFile, '--key', bob.id, '--until', 'soon', '--name', 'b').code,
      2,
    );
  });

  it('takes a key that starts with "-" as the value of --key (one key in 64 does)', async () => {
    const adminFile = join(dir, 'admin-dash.key');
    await Identity.generate().save(adminFile);
    let dash = Identity.generate();
    for (let i = 0; i < 5_000 && !dash.id.startsWith('-'); i++) dash = Identity.generate();
    assert.ok(dash.id.startsWith('-'), 'found a key starting with -');
    const r = rxchan(
      'grant',
      '--admin',
      adminFile,
      '--key',
      dash.id,
      '--until',
      '2099-01-01T00:00:00Z',
      '--name',
      'd',
    );
    assert.equal(r.code, 0, r.stderr);
  });

  it('--version prints the version of package.json', async () => {
    const pkg = join(dirname(CLI), '..', '..', 'package.json');
    const { version } = JSON.parse(await readFile(pkg, 'utf8')) as { version: string };
    const r = rxchan('--version');
    assert.deepEqual([r.code, r.stdout], [0, `${version}\n`]);
  });

  it('has help for itself and each command, and usage errors exit 2', () => {
    const help = rxchan('--help');
    assert.equal(help.code, 0);
    for (const name of ['keygen', 'pubkey', 'grant', 'ping', 'list', 'call', 'help'])
      assert.ok(help.stdout.includes(name), name);
    assert.equal(rxchan('help', 'keygen').code, 0);
    assert.match(rxchan('keygen', '--help').stdout, /--out FILE/);
    assert.equal(rxchan().code, 2);
    assert.equal(rxchan('nope').code, 2);
    const missing = rxchan('keygen');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /needs --out/);
    assert.equal(rxchan('keygen', '--out', join(dir, 'x'), '--bogus').code, 2);
  });
});
