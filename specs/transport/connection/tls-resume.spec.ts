import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  AuthorizedKeys,
  type CertificateMaterial,
  Identity,
  makeCertificate,
} from '../../../src/auth/index.js';
import {
  type Connection,
  decodePrelude,
  dialTls,
  encodeHello,
  listenTls,
  RejectReason,
  SessionStore,
} from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { closeAll, drain, rawTls, refusals, until } from './helpers.js';

const server = Identity.generate();
const alice = Identity.generate();
const aliceOnly = [{ key: alice.id, name: 'alice' }];

/** Dial `port` as alice, pinning `serverKey` (the server's by default), with `session` for tickets. */
const dialAlice = (port: number, session: SessionStore | false, serverKey: string | string[] = server.id) =>
  dialTls({ identity: alice, host: '127.0.0.1', port, serverKey, session });

describe('TLS session resumption', () => {
  it('resumes on reconnect, and both sides still know who the peer is', async () => {
    const got: Connection[] = [];
    const listener = await listenTls({ identity: server, authorizedKeys: aliceOnly }, (c) => got.push(c));
    const store = new SessionStore();
    const dial = () => dialAlice(listener.port, store);
    try {
      const first = await dial();
      assert.equal(first.resumed, false);
      await until(() => store.size === 1, 5000, 'a ticket stored');
      first.socket.destroy();
      for (let i = 0; i < 3; i++) {
        const again = await dial();
        assert.equal(again.resumed, true, `dial ${i + 2} resumed`);
        assert.equal(again.peer?.id, server.id);
        await until(() => got.length === i + 2);
        const s = got[i + 1]!;
        assert.equal(s.resumed, true);
        assert.equal(s.peer?.id, alice.id);
        assert.equal(s.peer?.name, 'alice');
        again.socket.destroy();
      }
      // Without a store (or with session: false), every dial is a full handshake.
      const fresh = await dialAlice(listener.port, false);
      assert.equal(fresh.resumed, false);
      fresh.socket.destroy();
    } finally {
      await closeAll(listener);
    }
  });

  it('a resumed session is still judged: a revoked key is rejected even with a valid ticket', async () => {
    const keys = AuthorizedKeys.fromList(aliceOnly);
    const r = refusals();
    const listener = await listenTls(
      { identity: server, authorizedKeys: keys, onRefused: r.onRefused },
      () => undefined,
    );
    const store = new SessionStore();
    const storeKey = SessionStore.keyFor(alice, '127.0.0.1', listener.port);
    try {
      const first = await dialAlice(listener.port, store);
      await until(() => store.size === 1);
      first.socket.destroy();
      const ticket = store.get(storeKey)!.ticket;

      keys.update([]); // revoke alice

      // A raw client offering the ticket: TLS resumes (no certificate is sent) and the server still says no.
      const raw = await rawTls(listener.port, { session: ticket });
      assert.equal(raw.isSessionReused(), true, 'the TLS session was resumed');
      raw.write(encodeHello());
      const result = await drain(raw);
      assert.ok(result.closed);
      const frame = decodePrelude(result.data);
      assert.equal(frame.kind === 'REJECT' && frame.reason, RejectReason.UNKNOWN_KEY);

      await assert.rejects(
        dialAlice(listener.port, store),
        (err: unknown) => isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'UNKNOWN_KEY',
      );
      assert.equal(store.size, 0, 'a failed dial forgets its ticket');
      assert.deepEqual(r.reasons(), ['UNKNOWN_KEY', 'UNKNOWN_KEY']);
    } finally {
      await closeAll(listener);
    }
  });

  it('a ticket vouching for a server key no longer pinned is not used', async () => {
    const listener = await listenTls({ identity: server, authorizedKeys: aliceOnly }, () => undefined);
    const store = new SessionStore();
    const other = Identity.generate();
    try {
      const dial = (serverKey: string | string[]) => dialAlice(listener.port, store, serverKey);
      (await dial(server.id)).socket.destroy();
      await until(() => store.size === 1);
      const both = await dial([other.id, server.id]);
      assert.equal(both.resumed, true, 'still pinned among others: resumed');
      both.socket.destroy();
      await until(() => store.size === 1);
      await assert.rejects(
        dial(other.id),
        (err: unknown) =>
          isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'SERVER_KEY_MISMATCH',
      );
      assert.equal(store.size, 0);
    } finally {
      await closeAll(listener);
    }
  });

  it('a listener with resumption off issues no usable tickets', async () => {
    const listener = await listenTls(
      { identity: server, authorizedKeys: aliceOnly, sessionTicketLifetimeMs: 0 },
      () => undefined,
    );
    const store = new SessionStore();
    try {
      const first = await dialAlice(listener.port, store);
      await new Promise((r) => setTimeout(r, 100));
      first.socket.destroy();
      const second = await dialAlice(listener.port, store);
      assert.equal(second.resumed, false);
      second.socket.destroy();
    } finally {
      await closeAll(listener);
    }
  });

  it('a long-lived listener renews its certificate and new handshakes use the new one', async () => {
    const renewed: CertificateMaterial[] = [];
    const listener = await listenTls(
      {
        identity: server,
        authorizedKeys: aliceOnly,
        certificateValidityMs: 60_000,
        certificateRenewBeforeMs: 59_000, // renew about a second after each certificate is made
        onCertificateRenewed: (m) => renewed.push(m),
      },
      () => undefined,
    );
    try {
      const serial = async () => {
        const raw = await rawTls(listener.port, { cert: await makeCertificate(alice) });
        const cert = raw.getPeerX509Certificate() as X509Certificate;
        raw.destroy();
        return cert;
      };
      const before = await serial();
      // The renewal after that handshake (on a loaded machine the first one may come before it).
      const seen = renewed.length;
      await until(() => renewed.length > seen, 10_000, 'a renewal');
      const after = await serial();
      assert.notEqual(after.serialNumber, before.serialNumber);
      assert.equal(after.publicKey.export({ format: 'jwk' }).x, server.id, 'same key, new certificate');
      assert.ok(new Date(after.validTo) > new Date(before.validTo));
      const c = await dialAlice(listener.port, false);
      c.socket.destroy();
    } finally {
      await closeAll(listener);
    }
  });
});
