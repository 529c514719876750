/**
 * Connection settings of docs/ERRORS.md 6.3 reached over real TLS 1.3, with what the table says happens
 * then: a client certificate past its end by more than the listener's `clockToleranceMs` is refused
 * (REJECT BAD_CERTIFICATE), within it accepted; a session ticket older than `sessionTicketLifetimeMs` is
 * not used, whether the dialer's or the listener's lifetime ran out, so the next dial makes a full
 * handshake.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Identity, makeCertificate } from '../../../src/auth/index.js';
import {
  type Connection,
  decodePrelude,
  dialTls,
  encodeHello,
  listenTls,
  RejectReason,
  SessionStore,
} from '../../../src/transport/connection/index.js';
import { closeAll, drain, rawTls, readBytes, refusals, until } from './helpers.js';

const server = Identity.generate();
const alice = Identity.generate();
const aliceOnly = [{ key: alice.id, name: 'alice' }];

describe('TLS connections: configured limits, reached', () => {
  it('clockToleranceMs: a certificate 60 s past its end is refused with 30 s of tolerance, accepted with 120 s', async () => {
    // Its end is a minute ago (validity: one minute, made as if two minutes ago).
    const late = await makeCertificate(alice, { validityMs: 60_000, now: new Date(Date.now() - 120_000) });
    /** The listener's answer to a raw client with that certificate: read whole (a REJECT ends the
     *  connection), or its first 8 bytes (an ACCEPT, after which the client hangs up). */
    const answer = async (clockToleranceMs: number, accepted: boolean) => {
      const r = refusals();
      const got: Connection[] = [];
      const listener = await listenTls(
        { identity: server, authorizedKeys: aliceOnly, clockToleranceMs, onRefused: r.onRefused },
        (c) => got.push(c),
      );
      try {
        const raw = await rawTls(listener.port, { cert: late });
        raw.write(encodeHello());
        const bytes = accepted ? await readBytes(raw, 8) : (await drain(raw)).data;
        raw.destroy();
        if (accepted) await until(() => got.length === 1, 5000, 'the connection');
        return { frame: decodePrelude(bytes), got, r };
      } finally {
        await closeAll(listener);
      }
    };
    const strict = await answer(30_000, false);
    assert.equal(strict.frame.kind === 'REJECT' && strict.frame.reason, RejectReason.BAD_CERTIFICATE);
    assert.deepEqual(strict.r.reasons(), ['BAD_CERTIFICATE']);
    assert.equal(strict.got.length, 0);
    const tolerant = await answer(120_000, true);
    assert.equal(tolerant.frame.kind, 'ACCEPT');
    assert.equal(tolerant.got.length, 1);
    assert.equal(tolerant.got[0]!.peer?.name, 'alice');
  });

  it('sessionTicketLifetimeMs: past it a ticket is not used, by the dialer nor by the listener: a full handshake', async () => {
    const lifetime = 1_000;
    /** Dial, wait for a new ticket, hang up; the stored ticket's expiry. */
    const dialAndKeep = async (port: number, store: SessionStore, sessionTicketLifetimeMs?: number) => {
      const before = store.get(SessionStore.keyFor(alice, '127.0.0.1', port))?.expiresAt;
      const c = await dialTls({
        identity: alice,
        host: '127.0.0.1',
        port,
        serverKey: server.id,
        session: store,
        ...(sessionTicketLifetimeMs === undefined ? {} : { sessionTicketLifetimeMs }),
      });
      const key = SessionStore.keyFor(alice, '127.0.0.1', port);
      // A full handshake brings a ticket (a resumed one may bring none): wait for it, and for a second.
      if (!c.resumed) await until(() => (store.get(key)?.expiresAt ?? before) !== before, 5000, 'a ticket');
      await sleep(50);
      c.socket.destroy();
      return { resumed: c.resumed, expiresAt: store.get(key)?.expiresAt ?? 0 };
    };
    // The dialer's lifetime: the stored ticket expires after it, and is then not offered.
    const dialerSide = async () => {
      const listener = await listenTls({ identity: server, authorizedKeys: aliceOnly }, () => undefined);
      try {
        const store = new SessionStore();
        const savedAt = Date.now();
        const first = await dialAndKeep(listener.port, store, lifetime);
        assert.equal(first.resumed, false);
        assert.ok(first.expiresAt - savedAt <= lifetime + 1000, 'the ticket expires with the lifetime');
        const again = await dialAndKeep(listener.port, store, lifetime);
        assert.equal(again.resumed, true, 'within its lifetime the ticket is used');
        await sleep(Math.min(Math.max(0, again.expiresAt - Date.now()), lifetime) + 20);
        const late = await dialTls({
          identity: alice,
          host: '127.0.0.1',
          port: listener.port,
          serverKey: server.id,
          session: store,
          sessionTicketLifetimeMs: lifetime,
        });
        assert.equal(late.resumed, false, 'the dialer dropped its expired ticket');
        late.socket.destroy();
      } finally {
        await closeAll(listener);
      }
    };
    // The listener's lifetime: the dialer still holds the ticket (its own lifetime is an hour), and the
    // listener refuses to resume it. OpenSSL counts whole seconds: past 2 s after issue it has expired.
    const listenerSide = async () => {
      const listener = await listenTls(
        { identity: server, authorizedKeys: aliceOnly, sessionTicketLifetimeMs: lifetime },
        () => undefined,
      );
      try {
        const store = new SessionStore();
        assert.equal((await dialAndKeep(listener.port, store)).resumed, false);
        assert.equal((await dialAndKeep(listener.port, store)).resumed, true, 'within its lifetime');
        await sleep(2 * lifetime + 100);
        assert.ok(
          store.get(SessionStore.keyFor(alice, '127.0.0.1', listener.port)),
          'the dialer still offers it',
        );
        const late = await dialTls({
          identity: alice,
          host: '127.0.0.1',
          port: listener.port,
          serverKey: server.id,
          session: store,
        });
        assert.equal(late.resumed, false, 'the listener refused the expired ticket');
        late.socket.destroy();
      } finally {
        await closeAll(listener);
      }
    };
    await Promise.all([dialerSide(), listenerSide()]);
  });
});
