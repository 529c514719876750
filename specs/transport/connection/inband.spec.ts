/**
 * The in-band key handshake (inband.ts, PROTOCOL.md 2.2) over real TCP sockets on 127.0.0.1: both
 * halves, judging like TLS (authorized keys, grants), pinning, replay to another origin, malformed and
 * truncated messages, deadlines.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { AuthorizedKeys, checkGrant, Identity, keysEqual, signGrant } from '../../../src/auth/index.js';
import {
  CLIENT_HELLO_LENGTH,
  encodeClientHello,
  encodeClientProof,
  SERVER_PROOF_LENGTH,
} from '../../../src/transport/connection/inband-codec.js';
import {
  acceptInband,
  type Connection,
  dialInband,
  type Ed25519Signer,
  type InbandAcceptOptions,
  type InbandDialOptions,
} from '../../../src/transport/connection/index.js';
import { isTransportError, type TransportError } from '../../../src/transport/errors.js';
import { tcpPair } from '../../support/tcp-pair.js';
import { drain, readBytes } from './helpers.js';

const server = Identity.fromSeed(new Uint8Array(32).fill(0x11));
const client = Identity.fromSeed(new Uint8Array(32).fill(0x22));
const stranger = Identity.fromSeed(new Uint8Array(32).fill(0x33));
const admin = Identity.fromSeed(new Uint8Array(32).fill(0x44));
const keys = AuthorizedKeys.fromList([
  { key: client.publicKey, name: 'alice' },
  { key: admin.publicKey, name: 'ops', admin: true },
]);
const ORIGIN = 'wss://example.test:8443/rxchan';

type Outcome<T> = { ok: true; v: T } | { ok: false; e: TransportError };
const settle = <T>(p: Promise<T>): Promise<Outcome<T>> =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: TransportError) => ({ ok: false as const, e }),
  );

/** Runs both halves over a fresh TCP pair; returns both outcomes. */
async function handshake(
  dial: Partial<InbandDialOptions> = {},
  accept: Partial<InbandAcceptOptions> = {},
): Promise<{ c: Outcome<Connection>; s: Outcome<Connection>; done: () => Promise<void> }> {
  const [cs, ss, done] = await tcpPair();
  cs.on('error', () => {});
  ss.on('error', () => {});
  const s = settle(
    acceptInband(ss, {
      signer: server,
      authorizedKeys: keys,
      origin: ORIGIN,
      rejectLingerMs: 200,
      ...accept,
    }),
  );
  const c = settle(dialInband(cs, { signer: client, serverKey: server.id, origin: ORIGIN, ...dial }));
  return { c: await c, s: await s, done };
}

function failedWith(o: Outcome<unknown>, code: string, remoteCode?: string): void {
  assert.ok(!o.ok, 'expected a failure');
  assert.ok(isTransportError(o.e), `not a TransportError: ${String(o.e)}`);
  assert.equal(o.e.code, code, o.e.message);
  if (remoteCode !== undefined) assert.equal(o.e.remoteCode, remoteCode, o.e.message);
}

describe('in-band handshake', () => {
  it('a good path: both sides get a Connection with the verified peer, then bytes flow', async () => {
    const { c, s, done } = await handshake();
    try {
      assert.ok(c.ok && s.ok);
      assert.equal(c.v.role, 'client');
      assert.equal(s.v.role, 'server');
      assert.equal(c.v.peer?.id, server.id);
      assert.equal(s.v.peer?.id, client.id);
      assert.equal(s.v.peer?.name, 'alice');
      assert.equal(c.v.version, 2);
      assert.equal(s.v.codec, 'msgpack');
      c.v.socket.write('after');
      assert.equal(String(await readBytes(s.v.socket, 5)), 'after');
    } finally {
      await done();
    }
  });

  it('an async signer (as WebCrypto gives) works the same', async () => {
    const asyncSigner = (id: Identity): Ed25519Signer => ({
      publicKey: id.publicKey,
      sign: async (m) => id.sign(m),
    });
    const { c, s, done } = await handshake({ signer: asyncSigner(client) }, { signer: asyncSigner(server) });
    await done();
    assert.ok(c.ok && s.ok);
  });

  it('a wrong pinned server key: the client refuses with SERVER_KEY_MISMATCH and sends no proof', async () => {
    const { c, s, done } = await handshake({ serverKey: stranger.id });
    await done();
    failedWith(c, 'UNAUTHENTICATED', 'SERVER_KEY_MISMATCH');
    assert.ok(!s.ok);
  });

  it('an unknown client key: REJECT UNKNOWN_KEY, both sides UNAUTHENTICATED', async () => {
    const { c, s, done } = await handshake({ signer: stranger });
    await done();
    failedWith(c, 'UNAUTHENTICATED', 'UNKNOWN_KEY');
    failedWith(s, 'UNAUTHENTICATED', 'UNKNOWN_KEY');
  });

  it('a grant from an @admin lets an unlisted key in, named by the grant (text or bytes)', async () => {
    const grant = signGrant(admin, {
      subject: stranger.publicKey,
      notAfter: new Date(Date.now() + 60_000),
      name: 'bob',
    });
    for (const g of [grant, Buffer.from(grant).toString('base64url')]) {
      const { c, s, done } = await handshake({ signer: stranger, grant: g });
      await done();
      assert.ok(c.ok && s.ok, `${!c.ok ? c.e.message : ''}`);
      assert.equal(s.v.peer?.name, 'bob');
    }
  });

  it('an expired grant: REJECT EXPIRED', async () => {
    const grant = signGrant(admin, {
      subject: stranger.publicKey,
      notAfter: new Date(Date.now() - 1000),
      name: 'bob',
    });
    const { c, s, done } = await handshake({ signer: stranger, grant });
    await done();
    failedWith(c, 'UNAUTHENTICATED', 'EXPIRED');
    failedWith(s, 'UNAUTHENTICATED', 'EXPIRED');
  });

  it('a bad client signature: REJECT BAD_CERTIFICATE', async () => {
    // Shows the authorized key but signs with another one.
    const liar: Ed25519Signer = { publicKey: client.publicKey, sign: (m) => stranger.sign(m) };
    const { c, s, done } = await handshake({ signer: liar });
    await done();
    failedWith(c, 'UNAUTHENTICATED', 'BAD_CERTIFICATE');
    failedWith(s, 'UNAUTHENTICATED', 'BAD_CERTIFICATE');
  });

  it('a server without the key it shows: the client refuses with SERVER_BAD_SIGNATURE', async () => {
    const impostor: Ed25519Signer = { publicKey: server.publicKey, sign: (m) => stranger.sign(m) };
    const { c, done } = await handshake({}, { signer: impostor });
    await done();
    failedWith(c, 'UNAUTHENTICATED', 'SERVER_BAD_SIGNATURE');
  });

  it('another origin: the client refuses the server proof; a client proof relayed to another origin is refused', async () => {
    // The server answers to another origin than the client dialled.
    const { c, s, done } = await handshake({}, { origin: 'wss://evil.test/rxchan' });
    await done();
    failedWith(c, 'UNAUTHENTICATED', 'SERVER_BAD_SIGNATURE');
    assert.ok(!s.ok);

    // A relay: a man in the middle at origin A forwards the real server's proof made for origin B; even
    // if a client accepted it, its own proof (signed for A) fails at the real server (B).
    const [cs, ss, done2] = await tcpPair();
    ss.on('error', () => {});
    cs.on('error', () => {});
    try {
      const real = settle(
        acceptInband(ss, {
          signer: server,
          authorizedKeys: keys,
          origin: 'wss://b.test/',
          rejectLingerMs: 200,
        }),
      );
      const victim = settle(
        dialInband(cs, {
          signer: { publicKey: client.publicKey, sign: (m) => client.sign(m) },
          serverKey: server.id,
          origin: 'wss://a.test/',
        }),
      );
      failedWith(await victim, 'UNAUTHENTICATED', 'SERVER_BAD_SIGNATURE');
      assert.ok(!(await real).ok);
    } finally {
      await done2();
    }
  });

  it('a replayed transcript (old proof, fresh nonce) is refused', async () => {
    // Record a good client proof, then replay it on a new connection: the server's nonce differs.
    const [cs, ss, done] = await tcpPair();
    ss.on('error', () => {});
    cs.on('error', () => {});
    try {
      const s = settle(
        acceptInband(ss, { signer: server, authorizedKeys: keys, origin: ORIGIN, rejectLingerMs: 200 }),
      );
      const nonce = new Uint8Array(32).fill(7);
      cs.write(encodeClientHello({ clientNonce: nonce, clientKey: client.publicKey }));
      await readBytes(cs, SERVER_PROOF_LENGTH);
      // A signature over some other transcript (e.g. captured on an earlier connection).
      cs.write(encodeClientProof({ signature: client.sign(new Uint8Array(10)), grant: undefined }));
      failedWith(await s, 'UNAUTHENTICATED', 'BAD_CERTIFICATE');
    } finally {
      await done();
    }
  });

  it('truncated and malformed messages fail HANDSHAKE_FAILED or CONNECTION_LOST, never hang', async () => {
    const cases: { bytes: Uint8Array; end: boolean; code: string }[] = [
      {
        bytes: encodeClientHello({ clientNonce: new Uint8Array(32), clientKey: client.publicKey }).subarray(
          0,
          40,
        ),
        end: true,
        code: 'CONNECTION_LOST',
      },
      { bytes: Uint8Array.of(0x47, 0x45, 0x54, 0x20, 0x2f, 0x20), end: false, code: 'HANDSHAKE_FAILED' }, // "GET / "
      { bytes: Uint8Array.of(0x52, 0x58, 0x49, 0x42, 0x02, 0x01), end: false, code: 'HANDSHAKE_FAILED' }, // version 2
      { bytes: Uint8Array.of(0x52, 0x58, 0x49, 0x42, 0x01, 0x03), end: false, code: 'HANDSHAKE_FAILED' }, // proof first
    ];
    for (const k of cases) {
      const [cs, ss, done] = await tcpPair();
      ss.on('error', () => {});
      try {
        const s = settle(
          acceptInband(ss, { signer: server, authorizedKeys: keys, origin: ORIGIN, timeoutMs: 2000 }),
        );
        cs.write(k.bytes);
        if (k.end) cs.end();
        failedWith(await s, k.code);
      } finally {
        await done();
      }
    }
  });

  it('an oversized grant length is refused before its bytes are read', async () => {
    const [cs, ss, done] = await tcpPair();
    ss.on('error', () => {});
    try {
      const s = settle(
        acceptInband(ss, { signer: server, authorizedKeys: keys, origin: ORIGIN, timeoutMs: 2000 }),
      );
      cs.write(encodeClientHello({ clientNonce: new Uint8Array(32), clientKey: client.publicKey }));
      await readBytes(cs, SERVER_PROOF_LENGTH);
      const proof = encodeClientProof({ signature: new Uint8Array(64), grant: undefined });
      proof[70] = 0x01; // grant length 257
      proof[71] = 0x01;
      cs.write(proof);
      failedWith(await s, 'HANDSHAKE_FAILED');
      assert.match(((await s) as { e: Error }).e.message, /grant length 257/);
    } finally {
      await done();
    }
  });

  it('a silent peer: both halves fail HANDSHAKE_TIMEOUT and destroy the socket', async () => {
    const [cs, ss, done] = await tcpPair();
    ss.on('error', () => {});
    cs.on('error', () => {});
    try {
      const started = Date.now();
      const s = await settle(
        acceptInband(ss, { signer: server, authorizedKeys: keys, origin: ORIGIN, timeoutMs: 150 }),
      );
      failedWith(s, 'HANDSHAKE_TIMEOUT');
      assert.ok(Date.now() - started < 2000);
      assert.ok(ss.destroyed);
      const drained = await drain(cs, 2000);
      assert.ok(drained.closed);
      assert.equal(drained.data.length, 0);
    } finally {
      await done();
    }
    const [cs2, ss2, done2] = await tcpPair();
    cs2.on('error', () => {});
    ss2.resume();
    try {
      const c = await settle(
        dialInband(cs2 as Socket, { signer: client, serverKey: server.id, origin: ORIGIN, timeoutMs: 150 }),
      );
      failedWith(c, 'HANDSHAKE_TIMEOUT');
    } finally {
      await done2();
    }
  });

  it('bad options fail INVALID_CONFIG without writing', async () => {
    const [cs, , done] = await tcpPair();
    try {
      const c = await settle(dialInband(cs, { signer: client, serverKey: 'nope', origin: ORIGIN }));
      failedWith(c, 'INVALID_CONFIG');
      const c2 = await settle(dialInband(cs, { signer: client, serverKey: server.id, origin: '' }));
      failedWith(c2, 'INVALID_CONFIG');
    } finally {
      await done();
    }
  });

  it('CLIENT_HELLO is the size the document says', () => {
    assert.equal(CLIENT_HELLO_LENGTH, 70);
    assert.equal(SERVER_PROOF_LENGTH, 134);
  });
});

describe("in-band handshake: the server's grant (SERVER_PROOF kind 0x04)", () => {
  const notAfter = new Date(Date.now() + 3_600_000);
  const adminGrant = signGrant(admin, { subject: server.publicKey, notAfter, name: 'node-a' });
  /** The check cluster refs make: a grant for the server key from `admin`, valid now. */
  const fromAdmin = (grant: Uint8Array | undefined, key: Uint8Array): string | undefined => {
    if (grant === undefined) return 'no grant';
    const check = checkGrant(grant, key, (k) => keysEqual(k, admin.publicKey));
    return check.ok ? undefined : check.message;
  };

  it('a server with a grant from the admin passes the check; the client learns its key', async () => {
    const { c, s, done } = await handshake({ serverGrant: fromAdmin }, { grant: adminGrant });
    try {
      assert.ok(c.ok && s.ok, 'both sides connect');
      assert.equal(c.v.peer?.id, server.id);
    } finally {
      if (c.ok) c.v.socket.destroy();
      if (s.ok) s.v.socket.destroy();
      await done();
    }
  });

  it('a client that requires no grant ignores one; a grant-less server passes a client without the check', async () => {
    for (const [dial, accept] of [
      [{}, { grant: adminGrant }],
      [{}, {}],
    ] as const) {
      const { c, s, done } = await handshake(dial, accept);
      try {
        assert.ok(c.ok && s.ok);
      } finally {
        if (c.ok) c.v.socket.destroy();
        if (s.ok) s.v.socket.destroy();
        await done();
      }
    }
  });

  it('no grant, a grant from a non-admin, an expired one, one for another key: SERVER_NO_GRANT, nothing signed', async () => {
    const cases: (Uint8Array | undefined)[] = [
      undefined,
      signGrant(stranger, { subject: server.publicKey, notAfter, name: 'node-a' }),
      signGrant(admin, { subject: server.publicKey, notAfter: new Date(Date.now() - 1000), name: 'node-a' }),
      signGrant(admin, { subject: stranger.publicKey, notAfter, name: 'node-a' }),
    ];
    for (const grant of cases) {
      const { c, s, done } = await handshake(
        { serverGrant: fromAdmin },
        grant === undefined ? {} : { grant, timeoutMs: 2000 },
      );
      await done();
      failedWith(c, 'UNAUTHENTICATED', 'SERVER_NO_GRANT');
      // The client sent no CLIENT_PROOF: the server saw the connection end mid-handshake.
      assert.ok(!s.ok);
      assert.ok(['CONNECTION_LOST', 'HANDSHAKE_FAILED'].includes(s.e.code), s.e.code);
    }
  });

  it('a middlebox that swaps the grant for another valid one, or strips it, fails the signature', async () => {
    const other = signGrant(admin, {
      subject: server.publicKey,
      notAfter: new Date(notAfter.getTime() + 1000),
      name: 'node-a',
    });
    assert.equal(other.length, adminGrant.length);
    const rewrites: ((proof: Buffer) => Buffer)[] = [
      (proof) => Buffer.concat([proof.subarray(0, 136), other]),
      (proof) => {
        const stripped = Buffer.from(proof.subarray(0, SERVER_PROOF_LENGTH));
        stripped[5] = 0x02;
        return stripped;
      },
    ];
    for (const rewrite of rewrites) {
      const [cs, ms, done] = await tcpPair(); // client ↔ middlebox
      const [mc, ss, done2] = await tcpPair(); // middlebox ↔ real server
      for (const s of [cs, ms, mc, ss]) s.on('error', () => {});
      try {
        const real = settle(
          acceptInband(ss, { signer: server, authorizedKeys: keys, origin: ORIGIN, grant: adminGrant }),
        );
        const c = settle(dialInband(cs, { signer: client, serverKey: server.id, origin: ORIGIN }));
        mc.write(await readBytes(ms, CLIENT_HELLO_LENGTH));
        const proof = await readBytes(mc, SERVER_PROOF_LENGTH + 2 + adminGrant.length);
        ms.write(rewrite(proof));
        failedWith(await c, 'UNAUTHENTICATED', 'SERVER_BAD_SIGNATURE');
        mc.destroy();
        assert.ok(!(await real).ok);
      } finally {
        await done();
        await done2();
      }
    }
  });

  it('a bad server grant option fails INVALID_CONFIG', async () => {
    const { s, c, done } = await handshake({ timeoutMs: 500 }, { grant: new Uint8Array(0) });
    await done();
    failedWith(s, 'INVALID_CONFIG');
    assert.ok(!c.ok);
  });
});
