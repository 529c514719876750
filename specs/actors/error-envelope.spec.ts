import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_ERROR_ID_LENGTH,
  MAX_ERROR_REASON_LENGTH,
  readEnvelope,
  writeEnvelope,
} from '../../src/actors/error-envelope.js';

describe('error envelope', () => {
  it('round-trips every field', () => {
    const fields = {
      details: { sku: 'A-1' },
      reason: 'OUT_OF_STOCK',
      errorId: 'id-1',
      remoteStack: 'Error: x',
    };
    const wire = writeEnvelope(fields);
    assert.deepEqual(wire, {
      details: { sku: 'A-1' },
      reason: 'OUT_OF_STOCK',
      id: 'id-1',
      stack: 'Error: x',
    });
    assert.deepEqual(readEnvelope(wire), fields);
    assert.equal(writeEnvelope({}), undefined, 'nothing to send: no envelope');
  });

  it('MAX_ERROR_REASON_LENGTH and MAX_ERROR_ID_LENGTH: one character more is dropped, by either side', () => {
    const reason = 'R'.repeat(MAX_ERROR_REASON_LENGTH);
    const id = 'i'.repeat(MAX_ERROR_ID_LENGTH);
    assert.deepEqual(readEnvelope({ reason, id }), { reason, errorId: id });
    assert.deepEqual(readEnvelope({ reason: `${reason}R`, id: `${id}i` }), {});
    assert.equal(writeEnvelope({ reason: `${reason}R`, errorId: `${id}i` }), undefined);
  });

  it("takes what is well formed from a peer's envelope and drops the rest, never throwing", () => {
    assert.deepEqual(readEnvelope({ reason: 42, id: { x: 1 }, stack: ['s'], details: [1] }), {
      details: [1],
    });
    assert.deepEqual(readEnvelope({ reason: '', id: '' }), {});
    for (const v of [undefined, null, 'text', 7, true, [1, 2], new Uint8Array(3)]) {
      assert.deepEqual(readEnvelope(v), {}, String(v));
    }
  });
});
