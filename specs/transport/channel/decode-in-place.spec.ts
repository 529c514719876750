import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decoder, Encoder } from '@msgpack/msgpack';
import fc from 'fast-check';
import { decodeInPlace, supportsInPlace } from '../../../src/transport/channel/decode-in-place.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { messageValue } from './values.js';

const encoder = new Encoder({ useBigInt64: true });

/** `values` encoded back to back in one buffer, with `gap` bytes of 0xc1 (never valid) around each. */
function packed(values: unknown[], gap: number): { buffer: Uint8Array; bodies: Uint8Array[] } {
  const parts = values.map((v) => encoder.encode(v));
  const total = parts.reduce((n, p) => n + p.length + gap, gap);
  const buffer = new Uint8Array(total).fill(0xc1);
  const bodies: Uint8Array[] = [];
  let at = gap;
  for (const p of parts) {
    buffer.set(p, at);
    bodies.push(buffer.subarray(at, at + p.length));
    at += p.length + gap;
  }
  return { buffer, bodies };
}

describe('decodeInPlace', () => {
  it('finds the internals it needs on this version of the library', () => {
    assert.equal(supportsInPlace(new Decoder()), true);
    // A decoder without them is refused (decodeInPlace then uses Decoder.decode).
    assert.equal(supportsInPlace({ decode() {} } as unknown as Decoder), false);
  });

  it('decodes bodies at any offset of a shared buffer as Decoder.decode does, in place and by the fallback', () => {
    fc.assert(
      fc.property(fc.array(messageValue(false), { minLength: 1, maxLength: 6 }), fc.nat(3), (values, gap) => {
        const { bodies } = packed(values, gap);
        const decoder = new Decoder({ useBigInt64: true });
        const fallback = new Decoder({ useBigInt64: true });
        for (const body of bodies) {
          const expected = new Decoder({ useBigInt64: true }).decode(body);
          assert.deepEqual(decodeInPlace(decoder, body, true), expected);
          assert.deepEqual(decodeInPlace(fallback, body, false), expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('reuses one view per buffer and makes a new one for a new buffer', () => {
    const decoder = new Decoder();
    const internals = decoder as unknown as { view: DataView };
    const { bodies } = packed([{ a: 1 }, [1, 2], 'x'], 1);
    decodeInPlace(decoder, bodies[0]!, true);
    const view = internals.view;
    decodeInPlace(decoder, bodies[1]!, true);
    assert.equal(internals.view, view);
    assert.deepEqual(decodeInPlace(decoder, encoder.encode({ b: [2] }), true), { b: [2] });
    assert.notEqual(internals.view, view);
  });

  it('rejects a body that ends before its value ends (DECODE_ERROR) and decodes the next one cleanly', () => {
    const decoder = new Decoder();
    // [1, 2] with one trailing byte: the caller's scan rejects this; the end check catches it too.
    const body = Uint8Array.of(0x92, 0x01, 0x02, 0x03);
    assert.throws(
      () => decodeInPlace(decoder, body, true),
      (e: unknown) => isTransportError(e, 'DECODE_ERROR'),
    );
    assert.deepEqual(decodeInPlace(decoder, Uint8Array.of(0x91, 0x05), true), [5]);
  });

  it('drops half-built containers when a decode throws, and decodes the next message cleanly', () => {
    const decoder = new Decoder();
    // { [1]: 2 } inside an array: a map key that is an array is refused by the decoder.
    const bad = Uint8Array.of(0x92, 0x81, 0x91, 0x01, 0x02, 0x03);
    assert.throws(() => decodeInPlace(decoder, bad, true));
    const internals = decoder as unknown as { stack: { stack: unknown[] }; entered: boolean };
    assert.equal(internals.stack.stack.length, 0);
    assert.equal(internals.entered, false);
    assert.deepEqual(decodeInPlace(decoder, encoder.encode({ k: [1, { z: 2 }] }), true), {
      k: [1, { z: 2 }],
    });
  });

  it('uses Decoder.decode for a decode inside a decode', () => {
    const decoder = new Decoder();
    (decoder as unknown as { entered: boolean }).entered = true;
    assert.deepEqual(decodeInPlace(decoder, encoder.encode([1, 'a']), true), [1, 'a']);
    (decoder as unknown as { entered: boolean }).entered = false;
  });
});
