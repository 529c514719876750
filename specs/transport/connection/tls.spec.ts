import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Identity } from '../../../src/auth/index.js';
import {
  type Connection,
  dialTls,
  encodeAccept,
  encodeHello,
  listenTls,
} from '../../../src/transport/connection/index.js';
import { closeAll, rawTls, readBytes, until } from './helpers.js';

describe('TLS connections: an authorized peer', () => {
  const server = Identity.generate();
  const alice = Identity.generate();

  it('connects, both sides see who the other is, and bytes flow after the prelude', async () => {
    const got: Connection[] = [];
    const listener = await listenTls(
      { identity: server, authorizedKeys: [{ key: alice.id, name: 'alice' }] },
      (c) => {
        got.push(c);
        c.socket.on('data', (d: Buffer) => c.socket.write(Buffer.concat([Buffer.from('re:'), d])));
      },
    );
    try {
      const client = await dialTls({
        identity: alice,
        host: '127.0.0.1',
        port: listener.port,
        serverKey: server.id,
        session: false,
      });
      assert.equal(client.role, 'client');
      assert.equal(client.peer?.id, server.id);
      assert.equal(client.peer?.fingerprint, server.fingerprint);
      assert.equal(client.peer?.name, undefined);
      assert.equal(client.version, 2);
      assert.equal(client.codec, 'msgpack');
      assert.equal(client.resumed, false);
      assert.equal(client.remoteAddress, `127.0.0.1:${listener.port}`);
      await until(() => got.length === 1);
      const s = got[0]!;
      assert.equal(s.role, 'server');
      assert.deepEqual(s.peer?.publicKey, alice.publicKey);
      assert.equal(s.peer?.name, 'alice');
      assert.equal(s.resumed, false);
      client.socket.write('hello');
      assert.equal(String(await readBytes(client.socket, 8)), 're:hello');
      // And a large write, to see the stream is an ordinary TLS byte stream after the prelude.
      const big = Buffer.alloc(1 << 20, 7);
      client.socket.write(big);
      const echoed = await readBytes(client.socket, big.length + 3, 10_000);
      assert.equal(echoed.subarray(0, 3).toString(), 're:');
      client.socket.destroy();
      await until(() => listener.connections === 0);
    } finally {
      await closeAll(listener);
    }
  });

  it('hands over bytes sent right behind the prelude, on both sides', async () => {
    const got: Connection[] = [];
    const listener = await listenTls(
      { identity: server, authorizedKeys: [{ key: alice.id, name: 'alice' }] },
      (c) => {
        got.push(c);
        c.socket.write('server first');
      },
    );
    try {
      // Server side: a raw client sends HELLO and more in one write.
      const { makeCertificate } = await import('../../../src/auth/index.js');
      const raw = await rawTls(listener.port, { cert: await makeCertificate(alice) });
      raw.write(Buffer.concat([encodeHello(), Buffer.from('right behind')]));
      assert.deepEqual(await readBytes(raw, 8), Buffer.from(encodeAccept()));
      await until(() => got.length === 1);
      assert.equal(String(await readBytes(got[0]!.socket, 12)), 'right behind');
      assert.equal(String(await readBytes(raw, 12)), 'server first');
      raw.destroy();
      // Client side: the server's first bytes follow its ACCEPT at once; the dialer leaves them unread.
      const client = await dialTls({
        identity: alice,
        host: '127.0.0.1',
        port: listener.port,
        serverKey: server.id,
        session: false,
      });
      assert.equal(String(await readBytes(client.socket, 12)), 'server first');
      client.socket.destroy();
    } finally {
      await closeAll(listener);
    }
  });

  it('accepts keys from a pinned list, known to be one of several', async () => {
    const listener = await listenTls(
      { identity: server, authorizedKeys: [{ key: alice.publicKey, name: 'alice' }] },
      () => undefined,
    );
    try {
      const c = await dialTls({
        identity: alice,
        host: '127.0.0.1',
        port: listener.port,
        serverKey: [Identity.generate().id, server.publicKey],
        session: false,
      });
      assert.equal(c.peer?.id, server.id);
      c.socket.destroy();
    } finally {
      await closeAll(listener);
    }
  });

  it('refuses to dial without anything to trust the server by', async () => {
    await assert.rejects(dialTls({ identity: alice, host: '127.0.0.1', port: 1 }), {
      code: 'INVALID_CONFIG',
    });
    await assert.rejects(dialTls({ identity: alice, host: '127.0.0.1', port: 1, serverKey: 'short' }), {
      code: 'INVALID_CONFIG',
    });
    await assert.rejects(
      listenTls({ identity: server, authorizedKeys: [{ key: 'bad', name: 'x' }] }, () => undefined),
      {
        code: 'INVALID_CONFIG',
      },
    );
  });
});
