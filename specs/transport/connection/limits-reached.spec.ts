/**
 * Connection-layer limits that only their validation used to reach, each hit over real sockets:
 * rejectLingerMs (after a REJECT, and after a refusal before TLS), the ticket store's eviction, and
 * the largest grant a client certificate may carry.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { MAX_GRANT_BYTES } from '../../../src/auth/certificate.js';
import { Identity, makeCertificate } from '../../../src/auth/index.js';
import {
  dialTls,
  type Listener,
  listenTls,
  SessionStore,
  type StoredSession,
} from '../../../src/transport/connection/index.js';
import { DEFAULT_MAX_SESSIONS } from '../../../src/transport/connection/session-store.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { closeAll, readBytes, refusals, until } from './helpers.js';

const server = Identity.generate();
const alice = Identity.generate();
const authorizedKeys = [{ key: alice.id, name: 'alice' }];

/**
 * Resolves with the ms from now until the server is found to have cut `socket` off. The client keeps
 * its side open (allowHalfOpen) after the server's end, so it writes a byte every 20 ms: once the
 * server has destroyed its side, a write gets a reset and the socket closes. Rejects after 5 s.
 */
function cutOffAfter(socket: net.Socket): Promise<number> {
  const started = Date.now();
  const poke = setInterval(() => {
    if (!socket.destroyed) socket.write(Buffer.of(0));
  }, 20);
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not cut off within 5 s')), 5000);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  }).finally(() => clearInterval(poke));
}

describe('connection limits, reached', () => {
  it('rejectLingerMs: a rejected client that does not hang up is cut off after it', async () => {
    for (const lingerMs of [300, 0]) {
      const listener = await listenTls(
        { identity: server, authorizedKeys, rejectLingerMs: lingerMs },
        () => undefined,
      );
      try {
        const cert = await makeCertificate(Identity.generate());
        const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
          // allowHalfOpen reaches the TLSSocket; @types/node leaves it out of tls.ConnectionOptions.
          const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
            host: '127.0.0.1',
            port: listener.port,
            rejectUnauthorized: false,
            minVersion: 'TLSv1.3' as const,
            key: cert.keyPem,
            cert: cert.certPem,
            allowHalfOpen: true, // it reads the REJECT and the end, and does not close
          };
          const s = tls.connect(options);
          s.once('secureConnect', () => resolve(s));
          s.once('error', reject);
        });
        socket.on('error', () => undefined);
        const reject = await readBytes(socket, 8);
        assert.equal(reject[4], 0x03, 'a REJECT');
        const took = await cutOffAfter(socket);
        if (lingerMs > 0)
          assert.ok(took >= lingerMs - 50 && took < lingerMs + 1500, `cut off after ${took} ms`);
        else assert.ok(took < 200, `cut off after ${took} ms`);
      } finally {
        await closeAll(listener);
      }
    }
  });

  it('rejectLingerMs: a client refused before TLS that does not hang up is cut off after it', async () => {
    const r = refusals();
    const listener = await listenTls(
      {
        identity: server,
        authorizedKeys,
        maxHandshakes: 1,
        firstBytesTimeoutMs: 0,
        handshakeTimeoutMs: 20_000,
        rejectLingerMs: 300,
        onRefused: r.onRefused,
      },
      () => undefined,
    );
    const holder = net.connect({ host: '127.0.0.1', port: listener.port });
    holder.on('error', () => undefined);
    try {
      await until(() => listener.handshakes === 1);
      const refused = net.connect({ host: '127.0.0.1', port: listener.port, allowHalfOpen: true });
      refused.resume();
      await new Promise((resolve) => refused.once('end', resolve));
      const took = await cutOffAfter(refused);
      assert.ok(took >= 200 && took < 1800, `cut off after ${took} ms`);
      assert.deepEqual(r.reasons(), ['HANDSHAKE_LIMIT']);
    } finally {
      holder.destroy();
      await closeAll(listener);
    }
  });

  it(`DEFAULT_MAX_SESSIONS: a store keeps ${DEFAULT_MAX_SESSIONS} tickets, forgetting the oldest first`, () => {
    const store = new SessionStore();
    assert.equal(store.maxEntries, DEFAULT_MAX_SESSIONS);
    const entry: StoredSession = {
      ticket: Buffer.alloc(1),
      serverKey: new Uint8Array(32),
      expiresAt: Date.now() + 60_000,
    };
    for (let i = 0; i <= DEFAULT_MAX_SESSIONS; i++) store.set(`k${i}`, entry);
    assert.equal(store.size, DEFAULT_MAX_SESSIONS);
    assert.equal(store.get('k0'), undefined, 'the oldest went');
    assert.equal(store.get('k1'), entry);
    store.set('k1', entry); // set again: now the newest
    store.set('new', entry);
    assert.equal(store.get('k1'), entry);
    assert.equal(store.get('k2'), undefined);
  });

  it('an evicted ticket is not offered: the next dial to that server is a full handshake', async () => {
    const store = new SessionStore({ maxEntries: 1 });
    const listeners: Listener[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        listeners.push(await listenTls({ identity: server, authorizedKeys }, () => undefined));
      }
      const dial = (listener: Listener) =>
        dialTls({
          identity: alice,
          host: '127.0.0.1',
          port: listener.port,
          serverKey: server.id,
          session: store,
        });
      const first = await dial(listeners[0]!);
      first.socket.destroy();
      await until(() => store.size === 1, 2000, 'a ticket from the first server');
      const again = await dial(listeners[0]!);
      assert.equal(again.resumed, true, 'with its ticket, the dial resumes');
      again.socket.destroy();
      (await dial(listeners[1]!)).socket.destroy();
      await until(() => store.get(SessionStore.keyFor(alice, '127.0.0.1', listeners[1]!.port)) !== undefined);
      assert.equal(store.size, 1);
      const evicted = await dial(listeners[0]!);
      assert.equal(evicted.resumed, false, 'its ticket was evicted');
      evicted.socket.destroy();
    } finally {
      await closeAll(...listeners);
    }
  });

  it(`a client certificate whose grant is over ${MAX_GRANT_BYTES} bytes is rejected BAD_CERTIFICATE`, async () => {
    const r = refusals();
    const listener = await listenTls(
      { identity: server, authorizedKeys, onRefused: r.onRefused },
      () => undefined,
    );
    try {
      const stranger = Identity.generate();
      const dial = (grant: Uint8Array) =>
        dialTls({
          identity: stranger,
          host: '127.0.0.1',
          port: listener.port,
          serverKey: server.id,
          grant,
          session: false,
        });
      // A grant of exactly MAX_GRANT_BYTES is read (and, being no real grant, does not verify: EXPIRED).
      await assert.rejects(
        dial(new Uint8Array(MAX_GRANT_BYTES).fill(1)),
        (err: unknown) => isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'EXPIRED',
      );
      await assert.rejects(
        dial(new Uint8Array(MAX_GRANT_BYTES + 1).fill(1)),
        (err: unknown) => isTransportError(err, 'UNAUTHENTICATED') && err.remoteCode === 'BAD_CERTIFICATE',
      );
      assert.deepEqual(r.reasons(), ['EXPIRED', 'BAD_CERTIFICATE']);
    } finally {
      await closeAll(listener);
    }
  });
});
