/**
 * ByteReader: exact reads across chunk boundaries, the rest handed on in order, and the end of the
 * stream failing a pending read CONNECTION_LOST.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteReader } from '../../../src/transport/connection/byte-reader.js';
import { isTransportError } from '../../../src/transport/errors.js';

describe('ByteReader', () => {
  it('reads exact counts across chunks and hands the rest on', async () => {
    const r = new ByteReader();
    const first = r.readExactly(3);
    r.push(Uint8Array.of(1));
    r.push(Uint8Array.of(2, 3, 4));
    assert.deepEqual(await first, Uint8Array.of(1, 2, 3));
    r.push(Uint8Array.of(5, 6));
    assert.deepEqual(await r.readExactly(2), Uint8Array.of(4, 5));
    assert.equal(r.length, 1);
    r.push(Uint8Array.of(7));
    assert.deepEqual(r.takeRest(), [Uint8Array.of(6), Uint8Array.of(7)]);
    assert.equal(r.length, 0);
  });

  it('serves a read from bytes already there, and a whole chunk as it is', async () => {
    const r = new ByteReader();
    const chunk = Uint8Array.of(9, 8, 7, 6);
    r.push(chunk);
    assert.equal(await r.readExactly(4), chunk);
    r.push(Uint8Array.of(1, 2, 3));
    assert.deepEqual(await r.readExactly(1), Uint8Array.of(1));
    assert.deepEqual(await r.readExactly(2), Uint8Array.of(2, 3));
  });

  it('fails a pending read CONNECTION_LOST when the stream ends first, saying how much came', async () => {
    const r = new ByteReader();
    const read = r.readExactly(4);
    r.push(Uint8Array.of(1));
    r.end('closed');
    await assert.rejects(read, (err) => {
      assert.ok(isTransportError(err, 'CONNECTION_LOST'));
      assert.match(err.message, /closed after 1 of 4 bytes/);
      return true;
    });
    // What came before the end stays readable; more than that fails.
    await assert.rejects(r.readExactly(2), (err) => isTransportError(err, 'CONNECTION_LOST'));
    assert.deepEqual(await r.readExactly(1), Uint8Array.of(1));
  });

  it('refuses a second read while one is pending', async () => {
    const r = new ByteReader();
    const first = r.readExactly(2);
    await assert.rejects(r.readExactly(1), (err) => isTransportError(err, 'INTERNAL_ERROR'));
    r.push(Uint8Array.of(1, 2));
    assert.deepEqual(await first, Uint8Array.of(1, 2));
  });
});
