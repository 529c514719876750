/**
 * `ActorSystem.listen()` takes the connection layer's listener settings: `maxConnections` refuses the
 * extra client (REJECT OVERLOADED: its call fails UNAVAILABLE, caused by CONNECTION_LIMIT), and a short
 * `handshakeTimeoutMs` drops a raw socket that never speaks TLS.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { actor, isRpcError } from '../../src/actors/index.js';
import type { RefusedEvent } from '../../src/transport/connection/index.js';
import { isTransportError } from '../../src/transport/errors.js';
import { type Pair, pair } from './actors-pair.js';

@actor('greeter')
class Greeter {
  hello(name: string): string {
    return `hello ${name}`;
  }
}

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('ActorSystem.listen() with connection settings', () => {
  it('maxConnections: the extra client is refused with CONNECTION_LIMIT, and gets in once a slot is free', async () => {
    const refused: RefusedEvent[] = [];
    p = await pair({ listen: { maxConnections: 1, onRefused: (e) => refused.push(e) } });
    p.server.register('greeter', Greeter);
    const first = p.client.ref<Greeter>('greeter', p.peer);
    assert.equal(await first.hello('alice'), 'hello alice');

    const ops = p.opsClient();
    const second = ops.ref<Greeter>('greeter', p.peer);
    await assert.rejects(second.hello('ops'), (e: unknown) => {
      assert.ok(isRpcError(e, 'UNAVAILABLE'), String(e));
      const cause = (e as Error).cause;
      assert.ok(isTransportError(cause, 'CONNECTION_LIMIT'), String(cause));
      assert.equal((cause as { remoteCode?: string }).remoteCode, 'OVERLOADED');
      return true;
    });
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.reason, 'OVERLOADED');
    assert.equal(await first.hello('alice'), 'hello alice', 'the first connection is untouched');
  });

  it('handshakeTimeoutMs: a raw socket that never speaks is dropped after the short timeout', async () => {
    const refused: RefusedEvent[] = [];
    p = await pair({ listen: { handshakeTimeoutMs: 150, onRefused: (e) => refused.push(e) } });
    const { port } = p.peer;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const started = Date.now();
    const closed = await new Promise<boolean>((resolve) => {
      // The default timeout is 5000 ms: a close within 3 s can only be the configured one.
      const guard = setTimeout(() => resolve(false), 3000);
      socket.on('close', () => {
        clearTimeout(guard);
        resolve(true);
      });
    });
    socket.destroy();
    assert.ok(closed, 'the silent socket was not dropped within 3 s');
    assert.ok(Date.now() - started >= 100, 'dropped before the timeout');
    assert.equal(refused[0]?.reason, 'HANDSHAKE_TIMEOUT');
  });

  it('an invalid setting rejects listen() with INVALID_CONFIG', async () => {
    p = await pair();
    await assert.rejects(p.server.listen({ maxConnections: -1 }), (e: unknown) =>
      isTransportError(e, 'INVALID_CONFIG'),
    );
  });
});
