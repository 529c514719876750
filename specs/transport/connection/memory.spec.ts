import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duplexPair, memoryConnectionPair } from '../../../src/transport/connection/index.js';
import { drain, readBytes } from './helpers.js';

describe('in-memory connections', () => {
  it('come in pairs, prelude done, bytes flowing both ways', async () => {
    const [client, server] = memoryConnectionPair();
    assert.equal(client.role, 'client');
    assert.equal(server.role, 'server');
    assert.equal(client.version, 2);
    assert.equal(client.codec, 'msgpack');
    assert.equal(client.peer, undefined);
    assert.equal(client.socket.readableLength, 0, 'the prelude bytes were consumed');
    client.socket.write('ping');
    assert.equal(String(await readBytes(server.socket, 4)), 'ping');
    server.socket.write('pong');
    assert.equal(String(await readBytes(client.socket, 4)), 'pong');
    client.socket.destroy();
    server.socket.destroy();
  });

  it("half-close: end on one side is the end of the other side's reading only", async () => {
    const [a, b] = duplexPair();
    const got = drain(b, 2000);
    a.end('last words');
    b.end();
    const result = await got;
    assert.equal(String(result.data), 'last words');
    assert.ok(result.closed);
    a.destroy();
  });

  it('applies backpressure: a writer is held until the reader reads', async () => {
    const [a, b] = duplexPair();
    const chunk = Buffer.alloc(64 * 1024);
    let writes = 0;
    while (a.write(chunk) && writes < 100) writes++;
    assert.ok(writes < 100, 'write() returned false once the peer buffer was full');
    const drained = new Promise((r) => a.once('drain', r));
    b.resume();
    await drained;
    a.destroy();
    await new Promise((r) => b.once('close', r));
    assert.ok(b.destroyed, 'destroying one end closes the other');
  });
});
