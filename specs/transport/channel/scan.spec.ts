import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { scanMessage } from '../../../src/transport/channel/scan.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { vector } from '../../support/vectors.js';
import { depthOf, messageValue } from './values.js';

const enc = (v: unknown) => encode(v, { useBigInt64: true });

describe('scanMessage', () => {
  it('measures depth as the encoder counts it', () => {
    assert.equal(scanMessage(enc(1), 10, 10).depth, 1);
    assert.equal(scanMessage(enc([]), 10, 10).depth, 1);
    assert.equal(scanMessage(enc([[1]]), 10, 10).depth, 3);
    assert.equal(scanMessage(enc({ a: { b: [] } }), 10, 10).depth, 3);
  });

  it('accepts every encoded value and measures its depth', () => {
    fc.assert(
      fc.property(messageValue(false), (v) => {
        const r = scanMessage(enc(v), 100, 0);
        assert.equal(r.depth, depthOf(v));
        assert.equal(r.references, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('finds references and where their payloads are', () => {
    const body = vector('channel.record-call').subarray(5);
    const seen: [number, number, number][] = [];
    const r = scanMessage(body, 10, 10, (offset, type, length) => seen.push([offset, type, length]));
    assert.equal(r.references, 1);
    assert.deepEqual(seen, [[body.length - 5, 1, 5]]);
  });

  it('rejects every strict prefix of a value as truncated (DECODE_ERROR)', () => {
    fc.assert(
      fc.property(messageValue(false), fc.nat(), (v, cut) => {
        const bytes = enc(v);
        const prefix = bytes.subarray(0, cut % bytes.length);
        assert.throws(
          () => scanMessage(prefix, 100, 100),
          (e: unknown) => isTransportError(e, 'DECODE_ERROR'),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('rejects trailing bytes and the byte 0xc1', () => {
    assert.throws(
      () => scanMessage(Uint8Array.of(1, 2), 10, 10),
      (e: unknown) => isTransportError(e, 'DECODE_ERROR'),
    );
    assert.throws(
      () => scanMessage(Uint8Array.of(0x91, 0xc1), 10, 10),
      (e: unknown) => isTransportError(e, 'DECODE_ERROR'),
    );
  });

  it('enforces the depth and reference limits with REFERENCE_LIMIT', () => {
    assert.throws(
      () => scanMessage(enc([[[1]]]), 3, 10),
      (e: unknown) => isTransportError(e, 'REFERENCE_LIMIT'),
    );
    scanMessage(enc([[[1]]]), 4, 10);
    const refs = Uint8Array.of(0x92, 0xc7, 5, 1, 0, 0, 0, 3, 3, 0xc7, 5, 2, 0, 0, 0, 5, 4);
    assert.equal(scanMessage(refs, 10, 2).references, 2);
    assert.throws(
      () => scanMessage(refs, 10, 1),
      (e: unknown) => isTransportError(e, 'REFERENCE_LIMIT'),
    );
  });

  it('stops a huge declared container at the end of the bytes, without allocating for it', () => {
    const bytes = Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3);
    assert.throws(
      () => scanMessage(bytes, 10, 10),
      (e: unknown) => isTransportError(e, 'DECODE_ERROR'),
    );
  });

  it('never throws anything but a typed error on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        try {
          scanMessage(bytes, 8, 4);
        } catch (e) {
          assert.ok(isTransportError(e, 'DECODE_ERROR') || isTransportError(e, 'REFERENCE_LIMIT'), String(e));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
