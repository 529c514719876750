import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExtData } from '@msgpack/msgpack';
import { Preface } from '../../../src/transport/channel/preface.js';
import {
  decodeReference,
  ExtType,
  encodeReferencePayload,
  extTypeFor,
  REFERENCE_PAYLOAD_SIZE,
  ReferenceCodec,
  TAG_MAX,
  TAG_MIN,
} from '../../../src/transport/channel/references.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { hex, vector } from '../../support/vectors.js';

/** The ext 8 encoding of a payload, as @msgpack/msgpack writes a 5-byte ext. */
function ext8(type: number, payload: Uint8Array): Uint8Array {
  return Uint8Array.of(0xc7, payload.length, type, ...payload);
}

describe('references', () => {
  it('pins the wire values', () => {
    assert.equal(ExtType.CHANNEL, 0x01);
    assert.equal(ExtType.BYTES, 0x02);
    assert.equal(REFERENCE_PAYLOAD_SIZE, 5);
    assert.deepEqual(Preface, {
      CHANNEL: 1,
      NESTED_SEND: 2,
      NESTED_RECV: 3,
      BYTES_SEND: 4,
      BYTES_RECV: 5,
      DUPLEX: 6,
    });
    assert.deepEqual([TAG_MIN, TAG_MAX], [0x03, 0x0f]);
  });

  it('encodes a CHANNEL reference exactly as the vector', () => {
    const payload = encodeReferencePayload(3, Preface.NESTED_RECV);
    assert.equal(hex(ext8(extTypeFor(Preface.NESTED_RECV), payload)), hex(vector('channel.ref-channel')));
  });

  it('encodes a BYTES reference exactly as the vector', () => {
    const payload = encodeReferencePayload(5, Preface.BYTES_SEND);
    assert.equal(hex(ext8(extTypeFor(Preface.BYTES_SEND), payload)), hex(vector('channel.ref-bytes')));
  });

  it('decodes the vectors', () => {
    assert.deepEqual(decodeReference(ExtType.CHANNEL, vector('channel.ref-channel').subarray(3)), {
      ext: ExtType.CHANNEL,
      id: 3,
      preface: Preface.NESTED_RECV,
    });
    assert.deepEqual(decodeReference(ExtType.BYTES, vector('channel.ref-bytes').subarray(3)), {
      ext: ExtType.BYTES,
      id: 5,
      preface: Preface.BYTES_SEND,
    });
  });

  it('carries the full u32 stream id', () => {
    const payload = encodeReferencePayload(0xfffffffe, Preface.NESTED_SEND);
    assert.equal(decodeReference(ExtType.CHANNEL, payload).id, 0xfffffffe);
  });

  for (const [name, ext, payload] of [
    ['a short payload', ExtType.CHANNEL, Uint8Array.of(0, 0, 0, 3)],
    ['a long payload', ExtType.CHANNEL, Uint8Array.of(0, 0, 0, 3, 3, 0)],
    ['stream 0', ExtType.CHANNEL, Uint8Array.of(0, 0, 0, 0, 3)],
    ['a byte-stream preface in a CHANNEL ref', ExtType.CHANNEL, Uint8Array.of(0, 0, 0, 3, 4)],
    ['a channel preface in a BYTES ref', ExtType.BYTES, Uint8Array.of(0, 0, 0, 3, 2)],
    ['the top-level CHANNEL preface', ExtType.CHANNEL, Uint8Array.of(0, 0, 0, 3, 1)],
    ['an unknown preface', ExtType.BYTES, Uint8Array.of(0, 0, 0, 3, 9)],
  ] as const) {
    it(`rejects ${name} with BAD_REFERENCE`, () => {
      assert.throws(
        () => decodeReference(ext, payload),
        (e: unknown) => isTransportError(e, 'BAD_REFERENCE'),
      );
    });
  }

  it('has no ext type for a top-level channel', () => {
    assert.throws(
      () => extTypeFor(Preface.CHANNEL),
      (e: unknown) => isTransportError(e, 'ENCODE_ERROR'),
    );
  });

  it('refuses a forged reference (ExtData of types 1 to 15) and passes other ExtData through', () => {
    const codec = new ReferenceCodec();
    const slot = { encode: { reference: () => undefined, reset() {} }, decode: undefined, count: 0 };
    for (const type of [1, 2, 3, 4, 15]) {
      assert.throws(
        () => codec.tryToEncode(new ExtData(type, Uint8Array.of(0, 0, 0, 1, 2)), slot),
        (e: unknown) => isTransportError(e, 'ENCODE_ERROR'),
      );
    }
    for (const type of [16, 0x7f, -2]) {
      const other = new ExtData(type, Uint8Array.of(1));
      assert.equal(codec.tryToEncode(other, slot), other);
    }
  });

  it('refuses a reference where no decode context is given (BAD_REFERENCE)', () => {
    const codec = new ReferenceCodec();
    assert.throws(
      () =>
        codec.decode(encodeReferencePayload(3, Preface.NESTED_SEND), 1, {
          encode: undefined,
          decode: undefined,
          count: 0,
        }),
      (e: unknown) => isTransportError(e, 'BAD_REFERENCE'),
    );
  });
});
