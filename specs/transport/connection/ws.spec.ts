/**
 * listenWebSocket / dialWebSocket on 127.0.0.1: ws:// and wss:// (a self-signed certificate trusted
 * as the client's CA), grants, origins, the listener's limits (handshakes, per address, deadlines,
 * connections, message size), text messages refused, other paths left alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { AuthorizedKeys, Identity, signGrant } from '../../../src/auth/index.js';
import { encodeClientHello } from '../../../src/transport/connection/inband-codec.js';
import {
  type Connection,
  dialWebSocket,
  listenWebSocket,
  type RefusedEvent,
  type WebSocketListener,
  type WebSocketListenOptions,
} from '../../../src/transport/connection/index.js';
import { isTransportError, type TransportError } from '../../../src/transport/errors.js';
import { type WebCert, webCert } from '../../support/web-cert.js';
import { readBytes, until } from './helpers.js';

const serverId = Identity.generate();
const clientId = Identity.generate();
const admin = Identity.generate();
const keys = AuthorizedKeys.fromList([
  { key: clientId.id, name: 'alice' },
  { key: admin.id, name: 'ops', admin: true },
]);

const open: WebSocketListener[] = [];
const conns: Connection[] = [];
after(async () => {
  for (const c of conns) c.socket.destroy();
  await Promise.all(open.map((l) => l.close({ destroyConnections: true })));
});

async function listen(
  extra: Partial<WebSocketListenOptions> = {},
): Promise<{ l: WebSocketListener; got: Connection[]; refused: RefusedEvent[] }> {
  const got: Connection[] = [];
  const refused: RefusedEvent[] = [];
  const l = await listenWebSocket(
    {
      identity: serverId,
      authorizedKeys: keys,
      rejectLingerMs: 200,
      onRefused: (e) => refused.push(e),
      ...extra,
    },
    (c) => {
      got.push(c);
      conns.push(c);
    },
  );
  open.push(l);
  return { l, got, refused };
}

async function failure(p: Promise<Connection>): Promise<TransportError> {
  try {
    conns.push(await p);
  } catch (e) {
    assert.ok(isTransportError(e), `not a TransportError: ${String(e)}`);
    return e;
  }
  throw new Error('expected the dial to fail');
}

/** A raw ws client (no rxchan logic). */
function rawWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('WebSocket transport', () => {
  it('ws://: the handshake, then bytes both ways; the peer is verified on both sides', async () => {
    const { l, got } = await listen();
    assert.equal(l.url, `ws://127.0.0.1:${l.port}/rxchan`);
    const c = await dialWebSocket({ identity: clientId, url: l.url, serverKey: serverId.id });
    conns.push(c);
    assert.equal(c.peer?.id, serverId.id);
    await until(() => got.length === 1);
    assert.equal(got[0]!.peer?.name, 'alice');
    assert.equal(c.remoteAddress, `127.0.0.1:${l.port}`);
    // A write larger than one message is split and arrives whole.
    const big = Buffer.alloc(200_000, 9);
    c.socket.write(big);
    assert.deepEqual(await readBytes(got[0]!.socket, big.length), big);
    got[0]!.socket.write('pong');
    assert.equal(String(await readBytes(c.socket, 4)), 'pong');
  });

  describe('wss://', () => {
    let cert: WebCert;
    before(async () => {
      cert = await webCert();
    });
    it('with the self-signed certificate as the CA: connects; without it: HANDSHAKE_FAILED', async () => {
      const { l } = await listen({ tls: cert });
      assert.match(l.url, /^wss:\/\/127\.0\.0\.1:\d+\/rxchan$/);
      const c = await dialWebSocket({
        identity: clientId,
        url: l.url,
        serverKey: serverId.id,
        ca: cert.cert,
      });
      conns.push(c);
      assert.equal(c.peer?.id, serverId.id);
      const e = await failure(dialWebSocket({ identity: clientId, url: l.url, serverKey: serverId.id }));
      assert.equal(e.code, 'HANDSHAKE_FAILED', e.message);
    });
  });

  it('a grant from an @admin, as text: accepted under the grant name', async () => {
    const { l, got } = await listen();
    const bob = Identity.generate();
    const grant = signGrant(admin, {
      subject: bob.publicKey,
      notAfter: new Date(Date.now() + 60_000),
      name: 'bob',
    });
    conns.push(
      await dialWebSocket({
        identity: bob,
        url: l.url,
        serverKey: serverId.id,
        grant: Buffer.from(grant).toString('base64url'),
      }),
    );
    await until(() => got.length === 1);
    assert.equal(got[0]!.peer?.name, 'bob');
  });

  it('origins: a request for a host the listener does not answer to gets HTTP 421 (UNAUTHENTICATED ORIGIN)', async () => {
    const { l, refused } = await listen({ origins: ['wss://rx.example.test/rxchan'] });
    const e = await failure(
      dialWebSocket({ identity: clientId, url: `ws://127.0.0.1:${l.port}/rxchan`, serverKey: serverId.id }),
    );
    assert.equal(e.code, 'UNAUTHENTICATED');
    assert.equal(e.remoteCode, 'ORIGIN');
    await until(() => refused.length === 1);
    assert.equal(refused[0]!.reason, 'ORIGIN');
    // The listener binds the configured origin when host and path match (as behind a TLS proxy): a
    // client that dialled ws:// for that host signs another origin and the handshake fails.
    const e2 = await failure(
      dialWebSocket({
        identity: clientId,
        url: `ws://127.0.0.1:${l.port}/rxchan`,
        serverKey: serverId.id,
        headers: { host: 'rx.example.test' },
      }),
    );
    assert.equal(e2.code, 'UNAUTHENTICATED');
    assert.equal(e2.remoteCode, 'SERVER_BAD_SIGNATURE');
  });

  it('maxHandshakes and maxHandshakesPerAddress: HTTP 503, the dial fails CONNECTION_LIMIT', async () => {
    for (const limit of ['maxHandshakes', 'maxHandshakesPerAddress'] as const) {
      const { l, refused } = await listen({ [limit]: 1, firstBytesTimeoutMs: 0 });
      const idle = await rawWs(l.url); // holds the one handshake slot
      await until(() => l.handshakes === 1);
      const e = await failure(dialWebSocket({ identity: clientId, url: l.url, serverKey: serverId.id }));
      assert.equal(e.code, 'CONNECTION_LIMIT', e.message);
      assert.equal(e.remoteCode, 'OVERLOADED');
      await until(() =>
        refused.some((r) => r.reason === 'HANDSHAKE_LIMIT' && r.error.message.includes(limit)),
      );
      idle.terminate();
    }
  });

  it('handshakeTimeoutMs and firstBytesTimeoutMs: a client that stays silent is dropped', async () => {
    for (const [opts, word] of [
      [{ firstBytesTimeoutMs: 100, handshakeTimeoutMs: 5000 }, 'firstBytesTimeoutMs'],
      [{ firstBytesTimeoutMs: 0, handshakeTimeoutMs: 150 }, 'within 150 ms'],
    ] as const) {
      const { l, refused } = await listen(opts);
      const ws = await rawWs(l.url);
      const closed = new Promise((r) => ws.once('close', r));
      await closed;
      assert.equal(refused[0]?.reason, 'HANDSHAKE_TIMEOUT');
      assert.ok(refused[0]!.error.message.includes(word), refused[0]!.error.message);
      assert.equal(l.handshakes, 0);
    }
  });

  it('maxConnections: REJECT OVERLOADED after the handshake (CONNECTION_LIMIT)', async () => {
    const { l } = await listen({ maxConnections: 1 });
    conns.push(await dialWebSocket({ identity: clientId, url: l.url, serverKey: serverId.id }));
    const e = await failure(dialWebSocket({ identity: clientId, url: l.url, serverKey: serverId.id }));
    assert.equal(e.code, 'CONNECTION_LIMIT');
    assert.equal(e.remoteCode, 'OVERLOADED');
  });

  it('maxWebSocketMessage: a larger message closes the connection (1009)', async () => {
    const { l } = await listen({ maxWebSocketMessage: 65_536 });
    const ws = await rawWs(l.url);
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    ws.send(Buffer.alloc(65_537), { binary: true });
    assert.equal(await code, 1009);
  });

  it('a text message fails the handshake and closes with 1003', async () => {
    const { l, refused } = await listen();
    const ws = await rawWs(l.url);
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    ws.send(
      Buffer.from(
        encodeClientHello({ clientNonce: new Uint8Array(32), clientKey: clientId.publicKey }),
      ).toString('latin1'),
    );
    assert.equal(await code, 1003);
    await until(() => refused.length === 1);
    assert.equal(refused[0]!.reason, 'CLOSED');
  });

  it('an unknown key: REJECT UNKNOWN_KEY; a wrong pin: SERVER_KEY_MISMATCH', async () => {
    const { l, refused } = await listen();
    const e = await failure(
      dialWebSocket({ identity: Identity.generate(), url: l.url, serverKey: serverId.id }),
    );
    assert.equal(e.code, 'UNAUTHENTICATED');
    assert.equal(e.remoteCode, 'UNKNOWN_KEY');
    await until(() => refused.length === 1);
    assert.equal(refused[0]!.reason, 'UNKNOWN_KEY');
    const e2 = await failure(dialWebSocket({ identity: clientId, url: l.url, serverKey: clientId.id }));
    assert.equal(e2.remoteCode, 'SERVER_KEY_MISMATCH');
  });

  it('another path on our own server: HTTP 404; bad URLs: INVALID_CONFIG; nobody there: CONNECTION_LOST', async () => {
    const { l } = await listen();
    const e = await failure(
      dialWebSocket({ identity: clientId, url: `ws://127.0.0.1:${l.port}/other`, serverKey: serverId.id }),
    );
    assert.equal(e.code, 'HANDSHAKE_FAILED');
    assert.equal(e.remoteCode, 'HTTP_404');
    const e2 = await failure(
      dialWebSocket({ identity: clientId, url: 'http://127.0.0.1:1/', serverKey: serverId.id }),
    );
    assert.equal(e2.code, 'INVALID_CONFIG');
    await l.close();
    const e3 = await failure(dialWebSocket({ identity: clientId, url: l.url, serverKey: serverId.id }));
    assert.equal(e3.code, 'CONNECTION_LOST');
  });
});
