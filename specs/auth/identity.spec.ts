import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { Identity, isAuthError, parseKeyFile } from '../../src/auth/index.js';

describe('Identity', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxchan-identity-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('derives the same key pair from the same seed, and signs verifiably', () => {
    const seed = new Uint8Array(32).fill(9);
    const a = Identity.fromSeed(seed);
    const b = Identity.fromSeed(seed);
    assert.equal(a.id, b.id);
    assert.equal(a.publicKey.length, 32);
    assert.match(a.fingerprint, /^SHA256:/);
    const data = new TextEncoder().encode('hello');
    const sig = a.sign(data);
    assert.equal(sig.length, 64);
    assert.ok(Identity.verify(a.publicKey, data, sig));
    assert.ok(!Identity.verify(Identity.generate().publicKey, data, sig));
    assert.notEqual(Identity.generate().id, Identity.generate().id);
    assert.throws(
      () => Identity.fromSeed(new Uint8Array(31)),
      (err: unknown) => isAuthError(err, 'INVALID_KEY'),
    );
  });

  it('verifies signatures as tweetnacl does, genuine or changed, and never throws', () => {
    const me = Identity.generate();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(63),
        fc.integer({ min: 1, max: 255 }),
        (data, at, flip) => {
          const sig = me.sign(data);
          assert.equal(Identity.verify(me.publicKey, data, sig), true);
          assert.equal(nacl.sign.detached.verify(data, sig, me.publicKey), true);
          const bad = Uint8Array.from(sig);
          bad[at]! ^= flip;
          assert.equal(
            Identity.verify(me.publicKey, data, bad),
            nacl.sign.detached.verify(data, bad, me.publicKey),
          );
        },
      ),
      { numRuns: 200 },
    );
    const data = new TextEncoder().encode('x');
    assert.equal(Identity.verify(new Uint8Array(32).fill(0xff), data, me.sign(data)), false, 'not a point');
    assert.equal(Identity.verify(me.publicKey, data, new Uint8Array(63)), false);
  });

  it('refuses a malleated signature (S + L), which tweetnacl accepts', () => {
    const me = Identity.generate();
    const data = new TextEncoder().encode('grant');
    const sig = me.sign(data);
    // S is the second half, little-endian; L is the order of the ed25519 base point.
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
    let t = s + L;
    const malleated = Uint8Array.from(sig);
    for (let i = 32; i < 64; i++) {
      malleated[i] = Number(t & 0xffn);
      t >>= 8n;
    }
    assert.equal(nacl.sign.detached.verify(data, malleated, me.publicKey), true, 'tweetnacl accepts it');
    assert.equal(Identity.verify(me.publicKey, data, malleated), false);
  });

  it('never shows its secret in logs or JSON', () => {
    const me = Identity.generate();
    const shown = `${inspect(me)} ${JSON.stringify(me)}`;
    assert.ok(shown.includes(me.fingerprint));
    assert.ok(!shown.includes('secret'));
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(me))).sort(), ['fingerprint', 'id']);
  });

  it('saves with mode 0600 and loads back the same identity', async () => {
    const file = join(dir, 'a.key');
    const me = Identity.generate();
    await me.save(file);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const text = await readFile(file, 'utf8');
    assert.ok(text.includes(me.id), 'the public key is in the file for humans');
    assert.equal((await Identity.load(file)).id, me.id);
  });

  it('refuses to overwrite a key file unless asked, and then replaces it whole', async () => {
    const file = join(dir, 'b.key');
    await Identity.generate().save(file);
    await assert.rejects(Identity.generate().save(file), (err: unknown) =>
      isAuthError(err, 'KEY_FILE_EXISTS'),
    );
    const next = Identity.generate();
    await next.save(file, { overwrite: true });
    assert.equal((await Identity.load(file)).id, next.id);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('refuses a key file others can read, naming the file and the fix', {
    skip: process.platform === 'win32',
  }, async () => {
    const file = join(dir, 'c.key');
    await Identity.generate().save(file);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      await chmod(file, mode);
      await assert.rejects(Identity.load(file), (err: unknown) => {
        assert.ok(isAuthError(err, 'KEY_FILE_PERMISSIONS'));
        assert.equal(err.file, file);
        assert.ok(err.message.includes(file));
        assert.ok(err.message.includes(`chmod 600 ${file}`));
        return true;
      });
    }
    await chmod(file, 0o400);
    await Identity.load(file);
  });

  it('reports a missing file and a file that is not a key file', async () => {
    await assert.rejects(Identity.load(join(dir, 'missing.key')), (err: unknown) =>
      isAuthError(err, 'KEY_FILE_NOT_FOUND'),
    );
    const file = join(dir, 'd.key');
    await writeFile(file, 'not a key\n', { mode: 0o600 });
    await assert.rejects(
      Identity.load(file),
      (err: unknown) => isAuthError(err, 'KEY_FILE_INVALID') && err.file === file,
    );
  });

  it('detects a key file whose seed was damaged', async () => {
    const file = join(dir, 'e.key');
    await Identity.generate().save(file);
    const text = await readFile(file, 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('rxchan-ed25519-v1'))!;
    const [tag, seed, pub] = line.split(' ');
    const flipped = (seed![0] === 'A' ? 'B' : 'A') + seed!.slice(1);
    assert.throws(
      () => parseKeyFile(`${tag} ${flipped} ${pub}\n`),
      (err: unknown) => isAuthError(err, 'KEY_FILE_INVALID'),
    );
  });
});
