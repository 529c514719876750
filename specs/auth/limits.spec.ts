/**
 * The auth layer's fixed limits, each reached: the size caps of the files it reads, the certificate
 * cache's eviction, and the largest grant a certificate may carry.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_AUTHORIZED_KEYS_BYTES } from '../../src/auth/authorized-keys.js';
import { MAX_GRANT_BYTES } from '../../src/auth/certificate.js';
import { CERTIFICATE_CACHE_SIZE } from '../../src/auth/certificate-check.js';
import {
  AuthorizedKeys,
  checkCertificate,
  formatKeyFile,
  Identity,
  isAuthError,
  KnownHosts,
  makeCertificate,
} from '../../src/auth/index.js';
import { MAX_KEY_FILE_BYTES } from '../../src/auth/key-file.js';
import { MAX_KNOWN_HOSTS_BYTES } from '../../src/auth/known-hosts.js';

describe('auth limits, reached', () => {
  let dir: string;
  const alice = Identity.generate();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxchan-auth-limits-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** `head`, then comment lines (which change nothing a file says), to exactly `bytes` bytes. */
  const padded = (head: string, bytes: number) => {
    const line = `#${'x'.repeat(98)}\n`;
    const room = bytes - Buffer.byteLength(head);
    const rest = room % line.length;
    const text = head + line.repeat(Math.floor(room / line.length));
    return rest === 0 ? text : `${text}${'#'.repeat(rest - 1)}\n`;
  };

  it('MAX_KEY_FILE_BYTES: a key file one byte over is KEY_FILE_INVALID; at the limit it loads', async () => {
    const file = join(dir, 'key');
    const seed = new Uint8Array(32).fill(7);
    const seeded = Identity.fromSeed(seed);
    const text = formatKeyFile(seed);
    await writeFile(file, padded(text, MAX_KEY_FILE_BYTES), { mode: 0o600 });
    assert.equal((await Identity.load(file)).id, seeded.id);
    await writeFile(file, padded(text, MAX_KEY_FILE_BYTES + 1), { mode: 0o600 });
    await assert.rejects(
      Identity.load(file),
      (e: unknown) => isAuthError(e, 'KEY_FILE_INVALID') && /too large/.test((e as Error).message),
    );
  });

  it('MAX_AUTHORIZED_KEYS_BYTES: a file one byte over is AUTHORIZED_KEYS_INVALID; at the limit it loads', async () => {
    const file = join(dir, 'authorized_keys');
    const head = `${alice.id} alice\n`;
    await writeFile(file, padded(head, MAX_AUTHORIZED_KEYS_BYTES));
    assert.equal((await AuthorizedKeys.load(file)).size, 1);
    await writeFile(file, padded(head, MAX_AUTHORIZED_KEYS_BYTES + 1));
    await assert.rejects(
      AuthorizedKeys.load(file),
      (e: unknown) =>
        isAuthError(e, 'AUTHORIZED_KEYS_INVALID') && /above the 1048576 limit/.test((e as Error).message),
    );
  });

  it('MAX_KNOWN_HOSTS_BYTES: a file one byte over is KNOWN_HOSTS_INVALID; at the limit it loads', async () => {
    const file = join(dir, 'known_hosts');
    const head = `127.0.0.1:4433 ${alice.id}\n`;
    await writeFile(file, padded(head, MAX_KNOWN_HOSTS_BYTES));
    assert.equal((await KnownHosts.load(file)).check('127.0.0.1', 4433, alice.publicKey), 'known');
    await writeFile(file, padded(head, MAX_KNOWN_HOSTS_BYTES + 1));
    await assert.rejects(KnownHosts.load(file), (e: unknown) => isAuthError(e, 'KNOWN_HOSTS_INVALID'));
  });

  it('CERTIFICATE_CACHE_SIZE: the least recently used certificate is forgotten first', async () => {
    const now = Date.now();
    const check = (c: X509Certificate) => checkCertificate(c, now, 0);
    const make = async () => new X509Certificate((await makeCertificate(alice)).certPem);
    const a = await make();
    const b = await make();
    const factsA = check(a);
    const factsB = check(b);
    assert.equal(check(a), factsA, 'a second check is answered from the cache');
    for (let i = 0; i < CERTIFICATE_CACHE_SIZE - 2; i++) check(await make());
    assert.equal(check(a), factsA, 'full, and a is now the most recently used');
    check(await make()); // one more: the least recently used (b) goes
    assert.equal(check(a), factsA, 'a stays');
    assert.notEqual(check(b), factsB, 'b was forgotten, so it is checked again');
  });

  it(`a grant of ${MAX_GRANT_BYTES} bytes is read from a certificate; one byte more is not`, async () => {
    const at = new X509Certificate(
      (await makeCertificate(alice, { grant: new Uint8Array(MAX_GRANT_BYTES) })).certPem,
    );
    assert.equal(checkCertificate(at, Date.now(), 0).grant?.length, MAX_GRANT_BYTES);
    assert.equal(checkCertificate(at, Date.now(), 0).grantProblem, undefined);
    const over = new X509Certificate(
      (await makeCertificate(alice, { grant: new Uint8Array(MAX_GRANT_BYTES + 1) })).certPem,
    );
    assert.equal(checkCertificate(over, Date.now(), 0).grant, undefined);
    assert.match(checkCertificate(over, Date.now(), 0).grantProblem ?? '', /too long/);
  });
});
