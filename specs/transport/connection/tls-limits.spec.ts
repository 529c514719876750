import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Identity, makeCertificate } from '../../../src/auth/index.js';
import {
  type Connection,
  dialTls,
  encodeAccept,
  listenTls,
} from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { closeAll, drain, rawTcp, rawTls, readBytes, refusals, until } from './helpers.js';

const server = Identity.generate();
const alice = Identity.generate();
const authorizedKeys = [{ key: alice.id, name: 'alice' }];

describe('TLS connections: limits', () => {
  it('a client that says nothing is dropped at the handshake timeout', async () => {
    const r = refusals();
    const listener = await listenTls(
      { identity: server, authorizedKeys, handshakeTimeoutMs: 300, onRefused: r.onRefused },
      () => undefined,
    );
    try {
      const raw = await rawTcp(listener.port);
      await until(() => listener.handshakes === 1);
      const started = Date.now();
      const result = await drain(raw, 5000);
      assert.ok(result.closed, 'closed by the server');
      assert.ok(Date.now() - started < 4000);
      assert.deepEqual(r.reasons(), ['HANDSHAKE_TIMEOUT']);
      assert.equal(r.events[0]!.error.code, 'HANDSHAKE_TIMEOUT');
      assert.equal(listener.handshakes, 0);
    } finally {
      await closeAll(listener);
    }
  });

  it('a client that completes TLS but never sends its HELLO is dropped at the timeout too', async () => {
    const r = refusals();
    const got: Connection[] = [];
    const listener = await listenTls(
      { identity: server, authorizedKeys, handshakeTimeoutMs: 500, onRefused: r.onRefused },
      (c) => got.push(c),
    );
    try {
      const raw = await rawTls(listener.port, { cert: await makeCertificate(alice) });
      assert.deepEqual(
        await readBytes(raw, 8),
        Buffer.from(encodeAccept()),
        'accepted, then the server waits for HELLO',
      );
      const result = await drain(raw, 5000);
      assert.ok(result.closed);
      assert.deepEqual(r.reasons(), ['HANDSHAKE_TIMEOUT']);
      assert.equal(got.length, 0);
    } finally {
      await closeAll(listener);
    }
  });

  it('a dialer gives up with HANDSHAKE_TIMEOUT on a server that never answers', async () => {
    const silent = net.createServer(() => undefined);
    const sockets = new Set<net.Socket>();
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      await assert.rejects(
        dialTls({ identity: alice, host: '127.0.0.1', port, serverKey: server.id, handshakeTimeoutMs: 300 }),
        (err: unknown) => isTransportError(err, 'HANDSHAKE_TIMEOUT'),
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('beyond maxHandshakes a new connection is refused before TLS (a TLS alert); below it, service resumes', async () => {
    const r = refusals();
    const listener = await listenTls(
      {
        identity: server,
        authorizedKeys,
        maxHandshakes: 2,
        handshakeTimeoutMs: 20_000,
        onRefused: r.onRefused,
      },
      () => undefined,
    );
    try {
      const holders = [await rawTcp(listener.port), await rawTcp(listener.port)];
      await until(() => listener.handshakes === 2);
      const third = await rawTcp(listener.port);
      const result = await drain(third, 3000);
      assert.ok(result.closed, 'the third connection was closed before any handshake');
      assert.deepEqual(
        [...result.data],
        [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 80],
        'all it got is a fatal internal_error alert',
      );
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.reason, 'HANDSHAKE_LIMIT');
      assert.equal(r.events[0]!.error.code, 'CONNECTION_LIMIT');
      await assert.rejects(
        dialTls({ identity: alice, host: '127.0.0.1', port: listener.port, serverKey: server.id }),
        (err: unknown) =>
          isTransportError(err, 'CONNECTION_LIMIT') &&
          err.remoteCode === 'OVERLOADED' &&
          /server busy/.test(err.message),
        'a dialer reads the alert as "server busy", not as a reset',
      );
      for (const h of holders) h.destroy();
      await until(() => listener.handshakes === 0);
      const ok = await dialTls({
        identity: alice,
        host: '127.0.0.1',
        port: listener.port,
        serverKey: server.id,
        session: false,
      });
      ok.socket.destroy();
    } finally {
      await closeAll(listener);
    }
  });

  it('beyond maxConnections a client is rejected with OVERLOADED after TLS', async () => {
    const r = refusals();
    const listener = await listenTls(
      { identity: server, authorizedKeys, maxConnections: 1, onRefused: r.onRefused },
      () => undefined,
    );
    try {
      const dial = () =>
        dialTls({
          identity: alice,
          host: '127.0.0.1',
          port: listener.port,
          serverKey: server.id,
          session: false,
        });
      const first = await dial();
      await until(() => listener.connections === 1);
      await assert.rejects(
        dial(),
        (err: unknown) => isTransportError(err, 'CONNECTION_LIMIT') && err.remoteCode === 'OVERLOADED',
      );
      assert.deepEqual(r.reasons(), ['OVERLOADED']);
      first.socket.destroy();
      await until(() => listener.connections === 0);
      (await dial()).socket.destroy();
    } finally {
      await closeAll(listener);
    }
  });

  it('close() stops listening and aborts handshakes in progress', async () => {
    const listener = await listenTls(
      { identity: server, authorizedKeys, handshakeTimeoutMs: 20_000 },
      () => undefined,
    );
    const raw = await rawTcp(listener.port);
    await until(() => listener.handshakes === 1);
    const closing = drain(raw, 3000);
    await listener.close();
    assert.ok((await closing).closed);
    assert.equal(listener.handshakes, 0);
    await assert.rejects(rawTcp(listener.port), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
  });
});
