/**
 * BodyEncoder against @msgpack/msgpack's Encoder configured as message-codec.ts configures it: the same
 * bytes and the same ends (in order) for every message it encodes, and UNSUPPORTED for what it leaves to
 * the library.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Encoder, ExtData } from '@msgpack/msgpack';
import fc from 'fast-check';
import { BodyEncoder, UNSUPPORTED } from '../../../src/transport/channel/body-encoder.js';
import { Preface } from '../../../src/transport/channel/preface.js';
import {
  EXT8_HEAD_SIZE,
  ReferenceCodec,
  type ReferenceSlot,
} from '../../../src/transport/channel/references.js';
import { FakeEncodeContext, FakeEnd, messageValue } from './values.js';

const DEPTH = 8;

/** The library's bytes and ends for `value`. */
function library(value: unknown): { bytes: Uint8Array; ends: FakeEnd[] } {
  const ctx = new FakeEncodeContext();
  const slot: ReferenceSlot = { encode: ctx, decode: undefined, count: 0 };
  const encoder = new Encoder<ReferenceSlot>({
    extensionCodec: new ReferenceCodec(),
    context: slot,
    useBigInt64: true,
    maxDepth: DEPTH,
  });
  return { bytes: encoder.encode(value), ends: ctx.ends };
}

const fast = new BodyEncoder(DEPTH);

function encodeFast(value: unknown): { bytes: Uint8Array; ends: FakeEnd[]; offsets: number[] } | undefined {
  const ctx = new FakeEncodeContext();
  const offsets: number[] = [];
  const length = fast.encode(value, ctx, offsets);
  if (length === UNSUPPORTED) return undefined;
  return { bytes: fast.bytes.slice(0, length), ends: ctx.ends, offsets };
}

/** Values of the shapes BodyEncoder handles, over every size class of each. */
const ascii = fc.string({
  unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
  maxLength: 300,
});
const number = fc.oneof(
  fc.integer({ min: -40, max: 300 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(
    0,
    -0,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x10000,
    2 ** 32 - 1,
    2 ** 32,
    -32,
    -33,
    -128,
    -129,
  ),
  fc.constantFrom(-32768, -32769, -(2 ** 31), -(2 ** 31) - 1, Number.NaN, Number.POSITIVE_INFINITY, 1.5),
);
const leaf = fc.oneof(
  ascii,
  number,
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 300 }),
  fc
    .constantFrom(Preface.NESTED_SEND, Preface.NESTED_RECV, Preface.BYTES_SEND, Preface.BYTES_RECV)
    .map((p) => new FakeEnd(p)),
);
const shaped = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, leaf, tie('array'), tie('map')),
  array: fc.oneof(fc.array(tie('value'), { maxLength: 5 }), fc.array(leaf, { minLength: 15, maxLength: 20 })),
  map: fc.oneof(
    fc.dictionary(ascii, tie('value'), { maxKeys: 5 }),
    fc.dictionary(ascii, leaf, { minKeys: 15, maxKeys: 20 }),
  ),
})).value;

describe('BodyEncoder', () => {
  it('writes the bytes the library writes, with the ends in order and their id offsets', () => {
    fc.assert(
      fc.property(shaped, (value) => {
        const got = encodeFast(value);
        const want = library(value);
        if (got === undefined) return; // too deep for DEPTH: left to the library
        assert.deepEqual(got.bytes, want.bytes);
        assert.deepEqual(got.ends, want.ends);
        assert.equal(got.offsets.length, got.ends.length);
        for (const at of got.offsets) assert.equal(got.bytes[at - EXT8_HEAD_SIZE], 0xc7);
      }),
      { numRuns: 1000 },
    );
  });

  it('writes the library bytes or leaves the message to it, for the round-trip values of the codec', () => {
    fc.assert(
      fc.property(messageValue(true), (value) => {
        const got = encodeFast(value);
        if (got !== undefined) assert.deepEqual(got.bytes, library(value).bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves bigints, non-ASCII strings, dates, ExtData, maps, class instances, functions and depth to the library', () => {
    class Thing {}
    const left = [
      1n,
      'é',
      { ключ: 1 },
      new Date(0),
      new ExtData(7, Uint8Array.of(1)),
      new Map(),
      new Thing(),
      () => 1,
      Symbol('s'),
      [[[[[[[[[1]]]]]]]]],
      Buffer.from('x'),
    ];
    for (const value of left) assert.equal(encodeFast([1, value]), undefined, String(value));
    // Just within the depth limit it still encodes.
    assert.deepEqual(encodeFast([[[[[[[1]]]]]]])?.bytes, library([[[[[[[1]]]]]]]).bytes);
  });

  it('grows its buffer for a large message and shrinks it when asked', () => {
    const encoder = new BodyEncoder(DEPTH);
    const big = { data: new Uint8Array(100_000).fill(3), text: 'a'.repeat(70_000) };
    const length = encoder.encode(big, new FakeEncodeContext(), []);
    assert.deepEqual(encoder.bytes.slice(0, length), library(big).bytes);
    encoder.shrink(64 * 1024);
    assert.ok(encoder.bytes.length <= 64 * 1024);
  });
});
