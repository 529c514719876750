/**
 * The in-band handshake codec against the vectors of docs/PROTOCOL.md 2.3, byte for byte (fixed keys
 * from fixed seeds, fixed nonces; ed25519 signatures are deterministic), and its decoding rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import nacl from 'tweetnacl';
import { Identity, signGrant } from '../../../src/auth/index.js';
import {
  canonicalOrigin,
  clientProofGrantLength,
  decodeClientHello,
  decodeClientProof,
  decodeServerProof,
  encodeClientHello,
  encodeClientProof,
  encodeServerProof,
  MAX_INBAND_GRANT,
  serverProofGrantLength,
  transcript,
} from '../../../src/transport/connection/inband-codec.js';
import { nodeSigner, nodeVerify } from '../../../src/transport/connection/node-signer.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { hex, vector } from '../../support/vectors.js';

const server = Identity.fromSeed(new Uint8Array(32).fill(0x01));
const client = Identity.fromSeed(new Uint8Array(32).fill(0x02));
const clientNonce = Uint8Array.from({ length: 32 }, (_, i) => i);
const serverNonce = Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i);
const fields = {
  clientNonce,
  serverNonce,
  clientKey: client.publicKey,
  serverKey: server.publicKey,
  origin: 'wss://example.test/rxchan',
};
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const same = (got: Uint8Array, name: string) => assert.equal(hex(got), hex(vector(name)), name);
const failed = (err: unknown) => isTransportError(err, 'HANDSHAKE_FAILED');

describe('in-band handshake vectors (PROTOCOL.md 2.3)', () => {
  it('inband.client-hello', () => {
    same(encodeClientHello({ clientNonce, clientKey: client.publicKey }), 'inband.client-hello');
    const hello = decodeClientHello(vector('inband.client-hello'));
    assert.deepEqual(hello.clientNonce, clientNonce);
    assert.deepEqual(hello.clientKey, client.publicKey);
  });

  it('inband.server-transcript and inband.server-proof (its signature verifies with the server key)', () => {
    const t = transcript('server', fields);
    same(t, 'inband.server-transcript');
    same(
      encodeServerProof({ serverNonce, serverKey: server.publicKey, signature: server.sign(t) }),
      'inband.server-proof',
    );
    const proof = decodeServerProof(vector('inband.server-proof'));
    assert.ok(
      nacl.sign.detached.verify(vector('inband.server-transcript'), proof.signature, proof.serverKey),
    );
  });

  it('inband.client-transcript and inband.client-proof; the two transcripts differ only in the role', () => {
    const t = transcript('client', fields);
    same(t, 'inband.client-transcript');
    same(encodeClientProof({ signature: client.sign(t), grant: undefined }), 'inband.client-proof');
    const proof = decodeClientProof(vector('inband.client-proof'));
    assert.equal(proof.grant, undefined);
    assert.ok(nacl.sign.detached.verify(t, proof.signature, client.publicKey));
    const s = vector('inband.server-transcript');
    const differing = [...t].flatMap((b, i) => (b === s[i] ? [] : [i]));
    assert.ok(differing.every((i) => i >= 17 && i < 23));
    // A server signature never verifies as a client one.
    assert.ok(
      !nacl.sign.detached.verify(
        t,
        decodeServerProof(vector('inband.server-proof')).signature,
        server.publicKey,
      ),
    );
  });

  it("Node's signer and verifier (OpenSSL) give the vectors' signatures and accept them", async () => {
    const t = vector('inband.server-transcript');
    same(
      encodeServerProof({
        serverNonce,
        serverKey: server.publicKey,
        signature: await nodeSigner(server).sign(t),
      }),
      'inband.server-proof',
    );
    const proof = decodeServerProof(vector('inband.server-proof'));
    assert.ok(nodeVerify(t, proof.signature, server.publicKey));
    assert.ok(!nodeVerify(vector('inband.client-transcript'), proof.signature, server.publicKey));
  });

  it('a CLIENT_PROOF with grant.bob: length 00 8d after the signature, then the grant', () => {
    const grant = vector('grant.bob');
    const bytes = encodeClientProof({ signature: new Uint8Array(64), grant });
    assert.equal(grant.length, 141);
    assert.equal(hex(bytes.subarray(70, 72)), '00 8d');
    assert.deepEqual(decodeClientProof(bytes).grant, grant);
  });

  it('grant.server and inband.server-proof-grant: the server transcript ends with the grant it signs', () => {
    const admin = Identity.fromSeed(new Uint8Array(32).fill(0x03));
    const grant = signGrant(admin, {
      subject: server.publicKey,
      notAfter: new Date('2030-01-01T00:00:00Z'),
      name: 'server',
    });
    same(grant, 'grant.server');
    const t = transcript('server', { ...fields, serverGrant: grant });
    assert.equal(hex(t), hex(concat(vector('inband.server-transcript'), Uint8Array.of(0x00, 0x90), grant)));
    same(
      encodeServerProof({ serverNonce, serverKey: server.publicKey, signature: server.sign(t), grant }),
      'inband.server-proof-grant',
    );
    const proof = decodeServerProof(vector('inband.server-proof-grant'));
    assert.deepEqual(proof.grant, grant);
    assert.deepEqual(proof.serverKey, server.publicKey);
    assert.ok(nodeVerify(t, proof.signature, server.publicKey));
    // Bound: the signature holds neither without the grant nor with another grant for the same key.
    assert.ok(!nodeVerify(vector('inband.server-transcript'), proof.signature, server.publicKey));
    const other = signGrant(admin, {
      subject: server.publicKey,
      notAfter: new Date('2031-01-01Z'),
      name: 'server',
    });
    assert.ok(
      !nodeVerify(transcript('server', { ...fields, serverGrant: other }), proof.signature, server.publicKey),
    );
    // The client transcript ignores the server's grant; the grant-less vectors are unchanged.
    same(transcript('client', { ...fields, serverGrant: grant }), 'inband.client-transcript');
    assert.equal(decodeServerProof(vector('inband.server-proof')).grant, undefined);
  });

  it('SERVER_PROOF with a grant: a length of 0 or over 256, or a short message, fail HANDSHAKE_FAILED', () => {
    const good = vector('inband.server-proof-grant');
    assert.equal(serverProofGrantLength(good.subarray(0, 136)), 144);
    for (const n of [0, MAX_INBAND_GRANT + 1]) {
      const bad = Uint8Array.from(good);
      bad[134] = n >> 8;
      bad[135] = n & 0xff;
      assert.throws(() => serverProofGrantLength(bad), failed);
      assert.throws(() => decodeServerProof(bad), failed);
    }
    assert.throws(() => decodeServerProof(good.subarray(0, good.length - 1)), failed);
    assert.throws(() => decodeServerProof(good.subarray(0, 134)), failed);
    const asPlain = Uint8Array.from(good.subarray(0, 134));
    asPlain[5] = 0x02;
    assert.equal(decodeServerProof(asPlain).grant, undefined);
    assert.throws(
      () =>
        encodeServerProof({
          serverNonce,
          serverKey: server.publicKey,
          signature: new Uint8Array(64),
          grant: new Uint8Array(0),
        }),
      RangeError,
    );
  });

  it('decoding: bad magic, version, kind, size and grant length fail HANDSHAKE_FAILED', () => {
    const hello = vector('inband.client-hello');
    for (const [at, value] of [
      [0, 0x00],
      [4, 0x02],
      [5, 0x02],
    ] as const) {
      const bad = Uint8Array.from(hello);
      bad[at] = value;
      assert.throws(() => decodeClientHello(bad), failed);
    }
    assert.throws(() => decodeClientHello(hello.subarray(0, 69)), failed);
    assert.throws(() => decodeServerProof(hello), failed);
    const proof = Uint8Array.from(vector('inband.client-proof'));
    proof[70] = (MAX_INBAND_GRANT + 1) >> 8;
    proof[71] = (MAX_INBAND_GRANT + 1) & 0xff;
    assert.throws(() => clientProofGrantLength(proof), failed);
    assert.throws(
      () => encodeClientProof({ signature: new Uint8Array(64), grant: new Uint8Array(257) }),
      RangeError,
    );
    assert.throws(() => transcript('client', { ...fields, origin: '' }), RangeError);
    assert.throws(() => transcript('client', { ...fields, origin: 'x'.repeat(1025) }), RangeError);
  });

  it('canonicalOrigin: the WHATWG URL normal form without query or fragment', () => {
    assert.equal(canonicalOrigin('WSS://Example.TEST:443/rxchan?x=1#y'), 'wss://example.test/rxchan');
    assert.equal(canonicalOrigin('ws://127.0.0.1:8080'), 'ws://127.0.0.1:8080/');
    assert.equal(canonicalOrigin('ws://u:p@[::1]:80/a/b'), 'ws://[::1]/a/b');
  });
});
