import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Connection,
  dialTcp,
  encodeAccept,
  encodeHello,
  listenTcp,
} from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { closeAll, drain, rawTcp, readBytes, refusals, until } from './helpers.js';

describe('TCP connections (insecure)', () => {
  it('run the prelude and then carry bytes both ways', async () => {
    const got: Connection[] = [];
    const listener = await listenTcp({}, (c) => {
      got.push(c);
      c.socket.pipe(c.socket);
    });
    try {
      const client = await dialTcp({ host: '127.0.0.1', port: listener.port });
      assert.equal(client.role, 'client');
      assert.equal(client.peer, undefined);
      assert.equal(client.version, 2);
      assert.equal(client.resumed, false);
      assert.match(client.remoteAddress ?? '', /^127\.0\.0\.1:\d+$/);
      client.socket.write('echo me');
      assert.equal(String(await readBytes(client.socket, 7)), 'echo me');
      assert.equal(got[0]!.role, 'server');
      assert.equal(listener.connections, 1);
      client.socket.destroy();
      await until(() => listener.connections === 0);
    } finally {
      await closeAll(listener);
    }
  });

  it('keep bytes sent right behind the prelude for the layer above', async () => {
    const got: Connection[] = [];
    const listener = await listenTcp({}, (c) => got.push(c));
    try {
      const raw = await rawTcp(listener.port);
      raw.write(Buffer.concat([encodeHello(), Buffer.from('early bytes')]));
      assert.deepEqual(await readBytes(raw, 8), Buffer.from(encodeAccept()));
      await until(() => got.length === 1);
      assert.equal(String(await readBytes(got[0]!.socket, 11)), 'early bytes');
      raw.destroy();
    } finally {
      await closeAll(listener);
    }
  });

  it('drop a client whose hello is garbage, and report it', async () => {
    const r = refusals();
    const got: Connection[] = [];
    const listener = await listenTcp({ onRefused: r.onRefused }, (c) => got.push(c));
    try {
      const raw = await rawTcp(listener.port);
      raw.write('GET / HTTP/1.1\r\n\r\n');
      const result = await drain(raw);
      assert.ok(result.closed);
      assert.deepEqual(result.data, Buffer.from(encodeAccept()), 'the server spoke first, then closed');
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.reason, 'PRELUDE_FAILED');
      assert.equal(r.events[0]!.error.code, 'HANDSHAKE_FAILED');
      assert.equal(got.length, 0);
    } finally {
      await closeAll(listener);
    }
  });

  it('answer OVERLOADED beyond maxConnections, and the dialer fails with CONNECTION_LIMIT', async () => {
    const listener = await listenTcp({ maxConnections: 1 }, () => undefined);
    try {
      const first = await dialTcp({ host: '127.0.0.1', port: listener.port });
      await until(() => listener.connections === 1);
      await assert.rejects(
        dialTcp({ host: '127.0.0.1', port: listener.port }),
        (err: unknown) => isTransportError(err, 'CONNECTION_LIMIT') && err.remoteCode === 'OVERLOADED',
      );
      first.socket.destroy();
      await until(() => listener.connections === 0);
      (await dialTcp({ host: '127.0.0.1', port: listener.port })).socket.destroy();
    } finally {
      await closeAll(listener);
    }
  });

  it('fail a dial to a closed port with CONNECTION_LOST', async () => {
    const listener = await listenTcp({}, () => undefined);
    const port = listener.port;
    await listener.close();
    await assert.rejects(dialTcp({ host: '127.0.0.1', port }), (err: unknown) =>
      isTransportError(err, 'CONNECTION_LOST'),
    );
  });
});
