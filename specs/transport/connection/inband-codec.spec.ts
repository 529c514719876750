/**
 * The in-band handshake codec against the vectors of docs/PROTOCOL.md 2.3, byte for byte (fixed keys
 * from fixed seeds, fixed nonces; ed25519 signatures are deterministic), and its decoding rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import nacl from 'tweetnacl';
import { Identity } from '../../../src/auth/index.js';
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
  transcript,
} from '../../../src/transport/connection/inband-codec.js';
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

  it('a CLIENT_PROOF with grant.bob: length 00 8d after the signature, then the grant', () => {
    const grant = vector('grant.bob');
    const bytes = encodeClientProof({ signature: new Uint8Array(64), grant });
    assert.equal(grant.length, 141);
    assert.equal(hex(bytes.subarray(70, 72)), '00 8d');
    assert.deepEqual(decodeClientProof(bytes).grant, grant);
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
