import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Identity, makeCertificate } from '../../../src/auth/index.js';
import {
  type Connection,
  decodePrelude,
  dialTls,
  encodeHello,
  type Listener,
  listenTls,
  RejectReason,
} from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { closeAll, drain, identityWithCert, rawTcp, rawTls, refusals, until } from './helpers.js';

const server = Identity.generate();
const alice = Identity.generate();

async function start(options: { handshakeTimeoutMs?: number } = {}) {
  const r = refusals();
  const got: Connection[] = [];
  const listener = await listenTls(
    {
      identity: server,
      authorizedKeys: [{ key: alice.id, name: 'alice' }],
      onRefused: r.onRefused,
      ...options,
    },
    (c) => got.push(c),
  );
  return { listener, r, got };
}

/** What a raw TLS client with `cert` receives: it must be one REJECT with `reason`, then the close. */
async function expectRejectFrame(
  listener: Listener,
  cert: Awaited<ReturnType<typeof makeCertificate>> | undefined,
  reason: number,
) {
  const raw = await rawTls(listener.port, cert ? { cert } : {});
  raw.write(encodeHello());
  const result = await drain(raw);
  assert.ok(result.closed, 'the server closed the connection');
  const frame = decodePrelude(result.data);
  assert.equal(frame.kind, 'REJECT');
  assert.equal(frame.kind === 'REJECT' && frame.reason, reason);
}

describe('TLS connections: refusals', () => {
  it('an unknown client key is rejected with UNKNOWN_KEY, on both sides', async () => {
    const { listener, r, got } = await start();
    const mallory = Identity.generate();
    try {
      await assert.rejects(
        dialTls({ identity: mallory, host: '127.0.0.1', port: listener.port, serverKey: server.id }),
        (err: unknown) =>
          isTransportError(err, 'UNAUTHENTICATED') &&
          err.remoteCode === 'UNKNOWN_KEY' &&
          /UNKNOWN_KEY/.test(err.message),
      );
      await until(() => r.events.length === 1);
      const e = r.events[0]!;
      assert.equal(e.reason, 'UNKNOWN_KEY');
      assert.equal(e.error.code, 'UNAUTHENTICATED');
      assert.equal(e.peer?.id, mallory.id, 'the server knows which key tried');
      assert.match(e.remoteAddress ?? '', /^127\.0\.0\.1:/);
      await expectRejectFrame(listener, await makeCertificate(mallory), RejectReason.UNKNOWN_KEY);
      assert.equal(got.length, 0);
      await until(() => listener.handshakes === 0);
    } finally {
      await closeAll(listener);
    }
  });

  it('a server whose key is not the pinned one is refused by the client', async () => {
    const { listener, r, got } = await start();
    try {
      await assert.rejects(
        dialTls({
          identity: alice,
          host: '127.0.0.1',
          port: listener.port,
          serverKey: Identity.generate().id,
        }),
        (err: unknown) =>
          isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'SERVER_KEY_MISMATCH',
      );
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.reason, 'CLOSED', 'the client left without a HELLO');
      assert.equal(got.length, 0);
    } finally {
      await closeAll(listener);
    }
  });

  it('a client without a certificate is rejected with NO_CERTIFICATE', async () => {
    const { listener, r, got } = await start();
    try {
      await expectRejectFrame(listener, undefined, RejectReason.NO_CERTIFICATE);
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.reason, 'NO_CERTIFICATE');
      assert.equal(got.length, 0);
    } finally {
      await closeAll(listener);
    }
  });

  it('an authorized key with an expired certificate is rejected with BAD_CERTIFICATE', async () => {
    const { listener, r } = await start();
    try {
      const expired = await makeCertificate(alice, {
        validityMs: 60_000,
        now: new Date(Date.now() - 3_600_000),
      });
      await expectRejectFrame(listener, expired, RejectReason.BAD_CERTIFICATE);
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.reason, 'BAD_CERTIFICATE');
    } finally {
      await closeAll(listener);
    }
  });

  it('a TLS 1.2 client is refused during the handshake', async () => {
    const { listener, r } = await start();
    try {
      const { cert } = await identityWithCert();
      await assert.rejects(
        rawTls(listener.port, { cert, maxVersion: 'TLSv1.2' }),
        (err: NodeJS.ErrnoException) =>
          /PROTOCOL_VERSION|unsupported protocol/i.test(`${err.code} ${err.message}`),
      );
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.reason, 'TLS_FAILED');
      assert.equal(r.events[0]!.error.code, 'HANDSHAKE_FAILED');
      await until(() => listener.handshakes === 0);
    } finally {
      await closeAll(listener);
    }
  });

  it('plaintext and random bytes are dropped, never answered with the prelude', async () => {
    const { listener, r, got } = await start({ handshakeTimeoutMs: 1500 });
    try {
      const inputs = [
        Buffer.from(encodeHello()),
        Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
        ...Array.from({ length: 6 }, () => randomBytes(1 + Math.floor(Math.random() * 600))),
      ];
      for (const input of inputs) {
        const raw = await rawTcp(listener.port);
        raw.write(input);
        const result = await drain(raw, 5000);
        assert.ok(result.closed, `closed after ${input.toString('hex').slice(0, 20)}`);
        assert.ok(!result.data.includes(Buffer.from('RXCH')), 'no prelude frame in the answer');
      }
      await until(() => r.events.length === inputs.length);
      for (const reason of r.reasons())
        assert.ok(reason === 'TLS_FAILED' || reason === 'HANDSHAKE_TIMEOUT', reason);
      assert.equal(got.length, 0);
      await until(() => listener.handshakes === 0);
    } finally {
      await closeAll(listener);
    }
  });
});
