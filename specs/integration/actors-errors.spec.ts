/**
 * Errors that cross the network, over real TLS 1.3 on 127.0.0.1 (docs/ERRORS.md 4, PROTOCOL.md 5.3):
 * what a handler, a stream source or a callback throws that is not an RpcError reaches the peer as
 * INTERNAL with a generic message and an error id, and the thrower's `onError` gets the full error
 * with the same id; an RpcError (a domain error) keeps its code, message, reason and details.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { actor, isRpcError } from '../../src/actors/index.js';
import { type Pair, pair } from './actors-pair.js';

const SECRET = 'ENOENT: no such file or directory, open /srv/orders/secrets/db.json';

@actor('orders')
class Orders {
  load(): never {
    throw new Error(SECRET);
  }
}

/** What a system's onError saw. */
interface Reported {
  err: unknown;
  info: Record<string, unknown> | undefined;
}

let p: Pair;
afterEach(async () => {
  await p?.close();
});

describe('actors over TLS: an unexpected error is masked', () => {
  it('a plain Error reaches the caller as INTERNAL with an id; onError has the full error, same id', async () => {
    const reported: Reported[] = [];
    p = await pair({
      server: {
        onError: (err: unknown, info?: unknown) => {
          reported.push({ err, info: info as Record<string, unknown> | undefined });
        },
      },
    });
    await p.server.register(Orders);
    const orders = p.client.ref<Orders>('orders', p.peer);
    const e = await orders.load().then(
      () => assert.fail('load() should fail'),
      (err: unknown) => err,
    );
    assert.ok(isRpcError(e, 'INTERNAL'), `INTERNAL, got ${String(e)}`);
    assert.ok(!e.message.includes('/srv/orders'), `the path leaked: ${e.message}`);
    const errorId = (e as unknown as { errorId?: unknown }).errorId;
    assert.equal(typeof errorId, 'string');
    assert.match(errorId as string, /^[A-Za-z0-9_-]{16,64}$/);
    assert.equal(e.message, `internal error (id ${errorId as string})`);
    assert.equal(e.remoteStack, undefined);
    assert.equal(reported.length, 1, 'onError heard it once');
    const [r] = reported;
    assert.ok(r!.err instanceof Error && r!.err.message === SECRET, 'onError got the original error');
    assert.equal(r!.info?.errorId, errorId);
    assert.equal(r!.info?.actor, 'orders');
    assert.equal(r!.info?.method, 'load');
    assert.equal((r!.info?.peer as { name?: string } | undefined)?.name, 'alice');
  });
});
