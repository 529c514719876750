/**
 * Errors that cross the network, over real TLS 1.3 on 127.0.0.1 (docs/ERRORS.md 4, PROTOCOL.md 5.3):
 * what a handler, a stream source or a callback throws that is not an RpcError reaches the peer as
 * INTERNAL with a generic message and an error id, and the thrower's `onError` gets the full error
 * with the same id; an RpcError (a domain error) keeps its code, message, reason and details.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { concat, lastValueFrom, type Observable, of, throwError, toArray } from 'rxjs';
import {
  ActorSystem,
  actor,
  type ErrorInfo,
  isRpcError,
  RpcError,
  type RpcError as RpcErrorType,
  toRpcError,
} from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';
import { ChannelSession, type DuplexEnds } from '../../src/transport/channel/index.js';
import { type Listener, listenTls } from '../../src/transport/connection/index.js';
import { Session } from '../../src/transport/mux/index.js';
import { type Pair, pair } from './actors-pair.js';

const SECRET = 'ENOENT: no such file or directory, open /srv/orders/secrets/db.json';

/** A team's own domain error, as it exists before rxchan: mapped centrally by `mapError`. */
class OutOfStockError extends Error {
  readonly code = 'OUT_OF_STOCK';
  constructor(readonly sku: string) {
    super(`sku ${sku} is out of stock in /srv/warehouse-3`);
  }
}

const outOfStock = (sku: string) =>
  new RpcError('FAILED_PRECONDITION', 'out of stock', { reason: 'OUT_OF_STOCK', details: { sku } });

@actor('orders')
class Orders {
  load(): never {
    throw new Error(SECRET);
  }
  reserve(sku: string): never {
    throw outOfStock(sku);
  }
  reserveLegacy(sku: string): never {
    throw new OutOfStockError(sku);
  }
  /** Two items, then a domain error. */
  feed(sku: string): Observable<number> {
    return concat(
      of(1, 2),
      throwError(() => outOfStock(sku)),
    );
  }
  /** Two items, then an unexpected error. */
  leaky(): Observable<number> {
    return concat(
      of(1, 2),
      throwError(() => new Error(SECRET)),
    );
  }
  /** An async iterable source that throws after one item. */
  async *pages(): AsyncGenerator<number> {
    yield 1;
    throw new Error(SECRET);
  }
  /** Calls the caller's callback; reports how that failed. */
  async notify(cb: (n: number) => Promise<void>): Promise<unknown> {
    try {
      await cb(1);
      return 'no error';
    } catch (err) {
      const e = err as RpcErrorType;
      return { code: e.code, message: e.message, errorId: e.errorId };
    }
  }
  /** Reads the caller's stream argument; reports how it ended. */
  async count(items: Observable<number>): Promise<unknown> {
    const seen: number[] = [];
    try {
      await new Promise<void>((resolve, reject) =>
        items.subscribe({ next: (v) => seen.push(v), error: reject, complete: resolve }),
      );
      return { seen };
    } catch (err) {
      // A stream argument errors with the channel's TransportError (CHANNEL_ERROR): toRpcError reads it.
      const e = toRpcError(err);
      return { seen, code: e.code, message: e.message, errorId: e.errorId };
    }
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

  it('exposeErrorMessages shows the message: still INTERNAL, with an id, and reported', async () => {
    const reported: ErrorInfo[] = [];
    p = await pair({
      server: {
        config: { exposeErrorMessages: true },
        onError: (_err, info) => {
          if (info) reported.push(info);
        },
      },
    });
    await p.server.register(Orders);
    await assert.rejects(p.client.ref<Orders>('orders', p.peer).load(), (e) => {
      assert.ok(isRpcError(e, 'INTERNAL'));
      assert.equal(e.message, SECRET);
      assert.equal(e.errorId, reported[0]?.errorId);
      assert.equal(e.remoteStack, undefined, 'stacks are exposeStackTraces’ business');
      return true;
    });
  });

  it('a stream source that throws mid-stream: the items, then INTERNAL with an id (push and pull)', async () => {
    const reported: ErrorInfo[] = [];
    p = await pair({ server: { onError: (_err, info) => info && reported.push(info) } });
    await p.server.register(Orders);
    const orders = p.client.ref<Orders>('orders', p.peer);
    const got: number[] = [];
    await assert.rejects(
      new Promise<void>((resolve, reject) =>
        orders.leaky().subscribe({ next: (v) => got.push(v), error: reject, complete: resolve }),
      ),
      (e) => isRpcError(e, 'INTERNAL') && e.message === `internal error (id ${e.errorId})`,
    );
    assert.deepEqual(got, [1, 2]);
    const pulled: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const v of orders.pages()) pulled.push(v);
      })(),
      (e) => isRpcError(e, 'INTERNAL') && !e.message.includes('/srv'),
    );
    assert.deepEqual(pulled, [1]);
    assert.deepEqual(
      reported.map((r) => [r.actor, r.method]),
      [
        ['orders', 'leaky'],
        ['orders', 'pages'],
      ],
    );
  });

  it("a callback that throws: the handler gets INTERNAL with an id, the callback's side reports it", async () => {
    const clientReports: { err: unknown; info: ErrorInfo }[] = [];
    p = await pair({
      client: { onError: (err, info) => info && clientReports.push({ err, info }) },
    });
    await p.server.register(Orders);
    const seen = await p.client.ref<Orders>('orders', p.peer).notify(async () => {
      throw new Error(SECRET);
    });
    const { code, message, errorId } = seen as { code: string; message: string; errorId: string };
    assert.equal(code, 'INTERNAL');
    assert.equal(message, `internal error (id ${errorId})`);
    assert.equal(clientReports.length, 1);
    assert.equal(clientReports[0]!.info.errorId, errorId);
    assert.equal((clientReports[0]!.err as Error).message, SECRET);
    assert.equal(clientReports[0]!.info.method, '', "a callback's method is ''");
  });

  it('a stream argument that errors: the handler gets INTERNAL with an id, the sender reports it', async () => {
    const clientReports: ErrorInfo[] = [];
    p = await pair({ client: { onError: (_err, info) => info && clientReports.push(info) } });
    await p.server.register(Orders);
    const items = concat(
      of(1, 2),
      throwError(() => new Error(SECRET)),
    );
    const seen = (await p.client.ref<Orders>('orders', p.peer).count(items)) as Record<string, unknown>;
    assert.deepEqual(seen.seen, [1, 2]);
    assert.equal(seen.code, 'INTERNAL');
    assert.equal(seen.message, `internal error (id ${seen.errorId as string})`);
    assert.equal(clientReports.length, 1);
    assert.equal(clientReports[0]!.errorId, seen.errorId);
  });
});

describe('actors over TLS: domain errors keep code, reason and details', () => {
  it('unary and mid-stream: FAILED_PRECONDITION, reason OUT_OF_STOCK, details { sku }; nothing reported', async () => {
    const reported: unknown[] = [];
    p = await pair({ server: { onError: (err) => reported.push(err) } });
    await p.server.register(Orders);
    const orders = p.client.ref<Orders>('orders', p.peer);
    const domain = (e: unknown) => {
      assert.ok(isRpcError(e, 'FAILED_PRECONDITION'), String(e));
      assert.equal(e.message, 'out of stock');
      assert.equal(e.reason, 'OUT_OF_STOCK');
      assert.deepEqual(e.details, { sku: 'A-1' });
      assert.equal(e.errorId, undefined);
      return true;
    };
    await assert.rejects(orders.reserve('A-1'), domain);
    const got: number[] = [];
    await assert.rejects(
      new Promise<void>((resolve, reject) =>
        orders.feed('A-1').subscribe({ next: (v) => got.push(v), error: reject, complete: resolve }),
      ),
      domain,
    );
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(reported, []);
  });

  it('mapError turns an application error into one, remotely and locally; others stay masked', async () => {
    const mapError = (err: unknown) =>
      err instanceof OutOfStockError
        ? new RpcError('FAILED_PRECONDITION', 'out of stock', {
            reason: err.code,
            details: { sku: err.sku },
          })
        : undefined;
    p = await pair({ server: { mapError } });
    await p.server.register(Orders);
    const check = (e: unknown) =>
      isRpcError(e, 'FAILED_PRECONDITION') &&
      e.reason === 'OUT_OF_STOCK' &&
      (e.details as { sku: string }).sku === 'B-2';
    await assert.rejects(p.client.ref<Orders>('orders', p.peer).reserveLegacy('B-2'), check);
    await assert.rejects(p.server.ref<Orders>('orders').reserveLegacy('B-2'), check);
    await assert.rejects(p.client.ref<Orders>('orders', p.peer).load(), (e) => isRpcError(e, 'INTERNAL'));
    assert.deepEqual(
      await lastValueFrom(p.client.ref<Orders>('orders', p.peer).feed('x').pipe(toArray())).catch(
        (e: RpcErrorType) => e.reason,
      ),
      'OUT_OF_STOCK',
    );
  });
});

/**
 * A raw callee behind a real TLS listener: it answers every call with the ERROR record `answer` gives,
 * whatever the envelope, as a broken or hostile peer might.
 */
async function rawCallee(
  serverId: Identity,
  clientId: Identity,
  answer: (sender: DuplexEnds['sender']) => void,
): Promise<{ listener: Listener; close(): Promise<void> }> {
  const sessions: ChannelSession[] = [];
  const listener = await listenTls(
    { identity: serverId, authorizedKeys: [{ key: clientId.id, name: 'alice' }] },
    (connection) => {
      const channels = new ChannelSession(
        new Session(connection.socket, 'server', { keepAliveIntervalMs: 0 }),
      );
      sessions.push(channels);
      channels.onDuplex = ({ sender, receiver }: DuplexEnds) => {
        receiver.subscribe({ error: () => {} });
        answer(sender);
      };
    },
  );
  return {
    listener,
    async close() {
      for (const s of sessions) s.destroy();
      await listener.close();
    },
  };
}

describe('actors over TLS: a malformed error envelope from a raw peer', () => {
  const serverId = Identity.generate();
  const clientId = Identity.generate();
  const envelopes: unknown[] = [
    { reason: 42, id: { nested: true }, stack: 7, details: { kept: 1 } },
    { reason: 'R'.repeat(129), id: 'i'.repeat(65), details: { kept: 1 } },
    { reason: 'R'.repeat(100_000), id: 'i'.repeat(100_000), details: { kept: 1 } },
    'not a map',
    [1, 2, 3],
  ];
  let next = 0;
  let callee: Awaited<ReturnType<typeof rawCallee>>;
  let client: ActorSystem;
  before(async () => {
    callee = await rawCallee(serverId, clientId, (sender) => {
      sender.error('FAILED_PRECONDITION', 'from a raw peer', envelopes[next++ % envelopes.length]);
    });
    client = new ActorSystem({ identity: clientId, config: { closeTimeoutMs: 100 } });
  });
  after(async () => {
    await client.close();
    await callee.close();
  });

  it('drops what is malformed or oversized and keeps the rest: a typed RpcError every time', async () => {
    const raw = client.ref<{ go(): Promise<void> }>('raw', {
      host: '127.0.0.1',
      port: callee.listener.port,
      key: serverId.id,
    });
    for (const [i, envelope] of envelopes.entries()) {
      await assert.rejects(raw.go(), (e) => {
        assert.ok(isRpcError(e, 'FAILED_PRECONDITION'), `${i}: ${String(e)}`);
        assert.equal(e.message, 'from a raw peer');
        assert.equal(e.reason, undefined, `${i}: reason dropped`);
        assert.equal(e.errorId, undefined, `${i}: id dropped`);
        assert.equal(e.remoteStack, undefined, `${i}: stack dropped`);
        const map = typeof envelope === 'object' && !Array.isArray(envelope);
        assert.deepEqual(e.details, map ? { kept: 1 } : undefined, `${i}: details`);
        return true;
      });
    }
    assert.equal(client.stats().pendingCalls, 0);
  });
});
