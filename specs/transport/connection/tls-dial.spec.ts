import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { Identity } from '../../../src/auth/index.js';
import { dialTls } from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { identityWithCert, until } from './helpers.js';

/** A plain TLS 1.3 server that asks for a client certificate and records who finished the handshake. */
async function recordingServer() {
  const { identity, cert } = await identityWithCert();
  const seen: (string | undefined)[] = [];
  let open = 0;
  const server = tls.createServer(
    {
      key: cert.keyPem,
      cert: cert.certPem,
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      seen.push(socket.getPeerX509Certificate()?.subject);
      socket.on('error', () => undefined);
    },
  );
  server.on('connection', (raw) => {
    open++;
    raw.once('close', () => open--);
  });
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { identity, server, seen, open: () => open, port: (server.address() as { port: number }).port };
}

describe('dialTls: checking the server', () => {
  it('refuses a server with another key before TLS sends our certificate: that server never completes the handshake', async () => {
    const impostor = await recordingServer();
    const me = Identity.generate();
    try {
      for (let i = 0; i < 3; i++) {
        await assert.rejects(
          dialTls({
            identity: me,
            host: '127.0.0.1',
            port: impostor.port,
            serverKey: Identity.generate().id,
          }),
          (err: unknown) =>
            isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'SERVER_KEY_MISMATCH',
        );
      }
      await until(() => impostor.open() === 0, 5000, 'impostor connections closed');
      assert.deepEqual(impostor.seen, [], 'the impostor saw no finished handshake and no certificate');

      // The same server, pinned: the handshake completes and it sees our certificate (then no ACCEPT comes).
      await assert.rejects(
        dialTls({
          identity: me,
          host: '127.0.0.1',
          port: impostor.port,
          serverKey: impostor.identity.id,
          handshakeTimeoutMs: 300,
        }),
        (err: unknown) => isTransportError(err, 'HANDSHAKE_TIMEOUT'),
      );
      await until(() => impostor.seen.length === 1, 5000, 'pinned handshake seen');
      assert.equal(impostor.seen[0], `CN=rxchan ${me.id}`);
    } finally {
      impostor.server.close();
    }
  });
});
