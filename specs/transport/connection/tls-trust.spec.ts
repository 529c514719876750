import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthorizedKeys, Identity, KnownHosts, signGrant } from '../../../src/auth/index.js';
import { type Connection, dialTls, listenTls } from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { closeAll, refusals, until } from './helpers.js';

const HOUR = 3_600_000;

describe('TLS connections: known hosts and grants', () => {
  const server = Identity.generate();
  const alice = Identity.generate();
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxchan-trust-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('known hosts: unknown refused by default; trust on first use records the key; a changed key is refused', async () => {
    const file = join(dir, 'known_hosts');
    const listener = await listenTls(
      { identity: server, authorizedKeys: [{ key: alice.id, name: 'alice' }] },
      () => undefined,
    );
    const impostor = await listenTls(
      { identity: Identity.generate(), authorizedKeys: [{ key: alice.id, name: 'alice' }] },
      () => undefined,
    );
    try {
      const dial = (port: number, trustOnFirstUse?: boolean) =>
        dialTls({
          identity: alice,
          host: '127.0.0.1',
          port,
          knownHosts: file,
          session: false,
          ...(trustOnFirstUse ? { trustOnFirstUse } : {}),
        });
      await assert.rejects(
        dial(listener.port),
        (err: unknown) => isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'SERVER_UNKNOWN',
      );
      const first = await dial(listener.port, true);
      first.socket.destroy();
      assert.equal(await readFile(file, 'utf8'), `127.0.0.1:${listener.port} ${server.id}\n`);
      const second = await dial(listener.port);
      assert.equal(second.peer?.id, server.id);
      second.socket.destroy();
      // The impostor answers on an address we now claim to know (rewrite the file to point there).
      await writeFile(file, `127.0.0.1:${impostor.port} ${server.id}\n`);
      await assert.rejects(
        dial(impostor.port, true),
        (err: unknown) =>
          isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'SERVER_KEY_MISMATCH',
      );
      const hosts = await KnownHosts.load(file);
      assert.equal(hosts.entries().length, 1, 'trust on first use never overrides a known key');
    } finally {
      await closeAll(listener, impostor);
    }
  });

  it('grants: a key signed by an @admin connects until the grant ends, named by the grant', async () => {
    const admin = Identity.generate();
    const bob = Identity.generate();
    const keys = AuthorizedKeys.parse(`${alice.id} alice\n@admin ${admin.id} ops\n`);
    const r = refusals();
    const got: Connection[] = [];
    const listener = await listenTls(
      { identity: server, authorizedKeys: keys, onRefused: r.onRefused },
      (c) => got.push(c),
    );
    try {
      const dial = (grant?: Uint8Array, who = bob) =>
        dialTls({
          identity: who,
          host: '127.0.0.1',
          port: listener.port,
          serverKey: server.id,
          session: false,
          ...(grant ? { grant } : {}),
        });
      await assert.rejects(
        dial(),
        (err: unknown) => isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'UNKNOWN_KEY',
      );

      const good = signGrant(admin, {
        subject: bob.publicKey,
        notAfter: new Date(Date.now() + HOUR),
        name: 'bob (granted)',
      });
      const c = await dial(good);
      await until(() => got.length === 1);
      assert.equal(got[0]!.peer?.name, 'bob (granted)');
      assert.equal(got[0]!.peer?.id, bob.id);
      c.socket.destroy();

      const expired = signGrant(admin, {
        subject: bob.publicKey,
        notAfter: new Date(Date.now() - 1000),
        name: 'bob',
      });
      await assert.rejects(
        dial(expired),
        (err: unknown) => isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'EXPIRED',
      );

      const forged = Uint8Array.from(good);
      forged[forged.length - 1]! ^= 1;
      await assert.rejects(
        dial(forged),
        (err: unknown) => isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'EXPIRED',
      );

      const stranger = Identity.generate();
      const untrusted = signGrant(stranger, {
        subject: bob.publicKey,
        notAfter: new Date(Date.now() + HOUR),
        name: 'bob',
      });
      await assert.rejects(
        dial(untrusted),
        (err: unknown) => isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'UNKNOWN_KEY',
      );

      // Bob cannot reuse a grant made out to someone else.
      const carol = Identity.generate();
      await assert.rejects(
        dial(good, carol),
        (err: unknown) => isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'EXPIRED',
      );

      // The admin key itself may not connect: admin lines only vouch for others.
      await assert.rejects(
        dial(undefined, admin),
        (err: unknown) => isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'UNKNOWN_KEY',
      );
      assert.equal(got.length, 1);
      await until(() => r.events.length === 6);
      assert.deepEqual(r.reasons(), [
        'UNKNOWN_KEY',
        'EXPIRED',
        'EXPIRED',
        'UNKNOWN_KEY',
        'EXPIRED',
        'UNKNOWN_KEY',
      ]);
    } finally {
      await closeAll(listener);
    }
  });
});
