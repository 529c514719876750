import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostPort, Identity, isAuthError, KnownHosts, parseKnownHosts } from '../../src/auth/index.js';

describe('KnownHosts', () => {
  let dir: string;
  const s1 = Identity.generate();
  const s2 = Identity.generate();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxchan-known-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses addresses with ports, IPv6 in brackets, comments, several keys per host', () => {
    const hosts = KnownHosts.parse(
      `# servers\n127.0.0.1:4433 ${s1.id}\n[::1]:4433 ${s2.id} # v6\nexample.com:1 ${s1.id}\nexample.com:1 ${s2.id}\n`,
    );
    assert.equal(hosts.check('127.0.0.1', 4433, s1.publicKey), 'known');
    assert.equal(hosts.check('127.0.0.1', 4433, s2.publicKey), 'mismatch');
    assert.equal(hosts.check('127.0.0.1', 4434, s1.publicKey), 'unknown');
    assert.equal(hosts.check('::1', 4433, s2.publicKey), 'known');
    assert.equal(hosts.keysFor('example.com', 1).length, 2);
    assert.equal(hostPort('::1', 5), '[::1]:5');
  });

  it('refuses malformed lines, naming the line', () => {
    for (const [text, line] of [
      [`127.0.0.1 ${s1.id}\n`, 1],
      [`\n127.0.0.1:99999 ${s1.id}\n`, 2],
      [`127.0.0.1:1 notakey\n`, 1],
      [`127.0.0.1:1 ${s1.id} extra\n`, 1],
      [`::1:80 ${s1.id}\n`, 1],
    ] as const) {
      assert.throws(
        () => parseKnownHosts(text, 'kh'),
        (e: unknown) =>
          isAuthError(e, 'KNOWN_HOSTS_INVALID') && e.line === line && e.message.startsWith(`kh:${line}:`),
        text,
      );
    }
  });

  it('adds a key by appending to the file (created 0600), once', async () => {
    const file = join(dir, 'known_hosts');
    const hosts = await KnownHosts.load(file);
    assert.equal(hosts.entries().length, 0, 'a missing file is an empty list');
    await hosts.add('127.0.0.1', 7000, s1.publicKey);
    await hosts.add('127.0.0.1', 7000, s1.publicKey);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(await readFile(file, 'utf8'), `127.0.0.1:7000 ${s1.id}\n`);
    await writeFile(file, `${await readFile(file, 'utf8')}# no newline at the end`);
    await hosts.add('::1', 7001, s2.publicKey);
    const again = await KnownHosts.load(file);
    assert.equal(again.check('127.0.0.1', 7000, s1.publicKey), 'known');
    assert.equal(again.check('::1', 7001, s2.publicKey), 'known');
  });
});
