import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { Identity, makeCertificate } from '../../../src/auth/index.js';
import {
  encodeAccept,
  type Listener,
  listenTls,
  type RefusedEvent,
} from '../../../src/transport/connection/index.js';
import { closeAll, drain, readBytes, refusals, until } from './helpers.js';

const server = Identity.generate();
const alice = Identity.generate();
const authorizedKeys = [{ key: alice.id, name: 'alice' }];

/** A raw TCP socket from 127.0.0.2 (so the address is not the listener's own), connected. */
function rawFrom2(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** The event names the client that `socket` is, by address and port. */
function assertFrom(event: RefusedEvent | undefined, localPort: number): void {
  assert.ok(event, 'an event');
  assert.equal(event.remoteAddress, `127.0.0.2:${localPort}`, `${event.reason}: remoteAddress`);
  assert.equal(event.remoteHost, '127.0.0.2', `${event.reason}: remoteHost`);
  assert.equal(event.remotePort, localPort, `${event.reason}: remotePort`);
}

describe('TLS listener: every onRefused event names the client', () => {
  const listen = (options: object, r: ReturnType<typeof refusals>): Promise<Listener> =>
    listenTls({ identity: server, authorizedKeys, onRefused: r.onRefused, ...options }, () => undefined);

  it('HANDSHAKE_LIMIT (refused before TLS)', async () => {
    const r = refusals();
    const listener = await listen({ maxHandshakes: 1, firstBytesTimeoutMs: 0 }, r);
    const holder = await rawFrom2(listener.port);
    try {
      await until(() => listener.handshakes === 1);
      const refused = await rawFrom2(listener.port);
      const port = refused.localPort!;
      await drain(refused, 3000);
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.reason, 'HANDSHAKE_LIMIT');
      assertFrom(r.events[0], port);
    } finally {
      holder.destroy();
      await closeAll(listener);
    }
  });

  it('HANDSHAKE_TIMEOUT, whole handshake and first bytes', async () => {
    for (const options of [
      { handshakeTimeoutMs: 300, firstBytesTimeoutMs: 0 },
      { handshakeTimeoutMs: 10_000, firstBytesTimeoutMs: 200 },
    ]) {
      const r = refusals();
      const listener = await listen(options, r);
      try {
        const socket = await rawFrom2(listener.port);
        const port = socket.localPort!;
        await drain(socket, 5000);
        await until(() => r.events.length === 1);
        assert.equal(r.events[0]!.reason, 'HANDSHAKE_TIMEOUT');
        assertFrom(r.events[0], port);
      } finally {
        await closeAll(listener);
      }
    }
  });

  it('TLS_FAILED (not TLS)', async () => {
    const r = refusals();
    const listener = await listen({}, r);
    try {
      const socket = await rawFrom2(listener.port);
      const port = socket.localPort!;
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await drain(socket, 3000);
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.reason, 'TLS_FAILED');
      assertFrom(r.events[0], port);
    } finally {
      await closeAll(listener);
    }
  });

  it('CLOSED (the client left after ACCEPT) and a REJECT reason', async () => {
    const r = refusals();
    const listener = await listen({}, r);
    try {
      const connect = async (identity: Identity) => {
        const cert = await makeCertificate(identity);
        return new Promise<tls.TLSSocket>((resolve, reject) => {
          // localAddress reaches net.connect; @types/node leaves it out of tls.ConnectionOptions.
          const options: tls.ConnectionOptions & { localAddress: string } = {
            host: '127.0.0.1',
            port: listener.port,
            localAddress: '127.0.0.2',
            rejectUnauthorized: false,
            minVersion: 'TLSv1.3' as const,
            key: cert.keyPem,
            cert: cert.certPem,
          };
          const socket = tls.connect(options);
          socket.once('secureConnect', () => resolve(socket));
          socket.once('error', reject);
        });
      };
      const leaver = await connect(alice);
      const leaverPort = leaver.localPort!;
      assert.deepEqual(await readBytes(leaver, 8), Buffer.from(encodeAccept()));
      leaver.destroy();
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.reason, 'CLOSED');
      assertFrom(r.events[0], leaverPort);

      const stranger = await connect(Identity.generate());
      const strangerPort = stranger.localPort!;
      await drain(stranger, 3000);
      await until(() => r.events.length === 2);
      assert.equal(r.events[1]!.reason, 'UNKNOWN_KEY');
      assertFrom(r.events[1], strangerPort);
    } finally {
      await closeAll(listener);
    }
  });
});
