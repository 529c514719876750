import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import {
  type ChannelRecord,
  frameRecord,
  frameRecordPooled,
  holdsWholeRecords,
  ParserState,
  RECORD_HEADER_SIZE,
  RecordParser,
  RecordType,
} from '../../../src/transport/channel/record.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { hex, vector } from '../../support/vectors.js';

/** Feed `bytes` cut at `cuts` (offsets), collecting every record; fails the test on a parse error. */
function parseChunked(parser: RecordParser, bytes: Uint8Array, cuts: number[]): ChannelRecord[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: ChannelRecord[] = [];
  let from = 0;
  for (const at of [...points, bytes.length]) {
    const r = parser.push(bytes.subarray(from, at));
    assert.equal(r.error, undefined);
    out.push(...r.records.map((x) => ({ type: x.type, body: Uint8Array.from(x.body) })));
    from = at;
  }
  return out;
}

describe('record framing', () => {
  it('frames a MESSAGE record of a small map exactly as the vector', () => {
    const bytes = frameRecord(RecordType.MESSAGE, encode({ op: 'add', args: [1, 2] }));
    assert.equal(hex(bytes), hex(vector('channel.record-message')));
  });

  it('frames an ERROR record exactly as the vector', () => {
    const bytes = frameRecord(RecordType.ERROR, encode({ code: 'NOT_FOUND', message: 'no such actor' }));
    assert.equal(hex(bytes), hex(vector('channel.record-error')));
  });

  it('parses the vectors back', () => {
    const parser = new RecordParser(1024);
    const msg = parser.push(vector('channel.record-message'));
    assert.equal(msg.error, undefined);
    assert.equal(msg.records.length, 1);
    assert.equal(msg.records[0]!.type, RecordType.MESSAGE);
    assert.deepEqual(decode(msg.records[0]!.body), { op: 'add', args: [1, 2] });
    const err = parser.push(vector('channel.record-error'));
    assert.equal(err.records[0]!.type, RecordType.ERROR);
    assert.deepEqual(decode(err.records[0]!.body), { code: 'NOT_FOUND', message: 'no such actor' });
    assert.ok(parser.idle);
  });

  it('hands out a view, not a copy, when a body lies in one chunk', () => {
    const bytes = frameRecord(RecordType.MESSAGE, Uint8Array.of(1, 2, 3));
    const { records } = new RecordParser(16).push(bytes);
    assert.equal(records[0]!.body.buffer, bytes.buffer);
  });

  it('gives the same records however the bytes are chunked', () => {
    const record = fc.record(
      {
        type: fc.constantFrom(RecordType.MESSAGE, RecordType.ERROR),
        body: fc.uint8Array({ maxLength: 300 }),
      },
      { noNullPrototype: true },
    );
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (records, cuts) => {
          const parts = records.map((r) => frameRecord(r.type, r.body));
          const all = new Uint8Array(Buffer.concat(parts));
          const parser = new RecordParser(300);
          const got = parseChunked(parser, all, cuts);
          assert.deepEqual(got, records);
          assert.ok(parser.idle);
          assert.equal(parser.buffered, 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects a length above maxMessageSize as soon as the header is complete', () => {
    const parser = new RecordParser(10);
    const header = Uint8Array.of(0, 0, 0, 11, 0);
    assert.equal(parser.push(header.subarray(0, 3)).error, undefined);
    const r = parser.push(header.subarray(3));
    assert.ok(isTransportError(r.error, 'MESSAGE_TOO_LARGE'), String(r.error));
    assert.equal(parser.state, ParserState.FAILED);
    // Stays failed; nothing more is parsed.
    const again = parser.push(frameRecord(RecordType.MESSAGE, Uint8Array.of(1)));
    assert.equal(again.records.length, 0);
    assert.ok(isTransportError(again.error, 'MESSAGE_TOO_LARGE'));
  });

  it('accepts exactly maxMessageSize', () => {
    const r = new RecordParser(10).push(frameRecord(RecordType.MESSAGE, new Uint8Array(10)));
    assert.equal(r.error, undefined);
    assert.equal(r.records.length, 1);
  });

  it('rejects an unknown record type with DECODE_ERROR, keeping the records before it', () => {
    const ok = frameRecord(RecordType.MESSAGE, Uint8Array.of(0xc0));
    const bad = Uint8Array.of(0, 0, 0, 1, 0x02, 0xc0);
    const r = new RecordParser(100).push(new Uint8Array(Buffer.concat([ok, bad])));
    assert.equal(r.records.length, 1);
    assert.ok(isTransportError(r.error, 'DECODE_ERROR'));
  });

  it('reports a partial record as not idle', () => {
    const parser = new RecordParser(100);
    const bytes = frameRecord(RecordType.MESSAGE, new Uint8Array(20));
    parser.push(bytes.subarray(0, 2));
    assert.equal(parser.idle, false);
    assert.equal(parser.buffered, 2);
    parser.push(bytes.subarray(2, RECORD_HEADER_SIZE + 4));
    assert.equal(parser.state, ParserState.BODY);
    assert.equal(parser.buffered, 4);
  });

  it('never throws on arbitrary input, and fails only with typed errors', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }),
        fc.nat(200),
        (chunks, max) => {
          const parser = new RecordParser(max);
          for (const c of chunks) {
            const r = parser.push(c);
            if (r.error)
              assert.ok(
                isTransportError(r.error, 'MESSAGE_TOO_LARGE') || isTransportError(r.error, 'DECODE_ERROR'),
              );
            for (const rec of r.records) assert.ok(rec.body.length <= max);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('record framing for the send and shared-parse paths', () => {
  const m = (v: unknown) => frameRecord(RecordType.MESSAGE, encode(v));

  it('frameRecordPooled gives the same bytes as frameRecord, small (slab) and large', () => {
    for (const v of [{ op: 'add', args: [1, 2] }, 'x'.repeat(5000)]) {
      const body = encode(v);
      const padded = new Uint8Array(body.length + 7);
      padded.set(body);
      assert.deepEqual(
        Buffer.from(frameRecordPooled(RecordType.MESSAGE, padded, body.length)),
        Buffer.from(frameRecord(RecordType.MESSAGE, body)),
      );
    }
  });

  it('holdsWholeRecords: true only for a run of complete records', () => {
    const two = Buffer.concat([m(1), m({ a: 'b' })]);
    assert.equal(holdsWholeRecords(two), true);
    assert.equal(holdsWholeRecords(two.subarray(0, two.length - 1)), false);
    assert.equal(holdsWholeRecords(two.subarray(0, 3)), false);
    assert.equal(holdsWholeRecords(new Uint8Array(0)), false);
  });

  it('feedAt and holdsWholeRecords read only their range of a larger buffer', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(300), { minLength: 1, maxLength: 5 }), fc.nat(), (values, cut) => {
        const stream = Buffer.concat(values.map((v) => m(v)));
        const at = cut % (stream.length + 1);
        // Each piece inside a buffer of 0xff (a record header of 0xff bytes would be MESSAGE_TOO_LARGE).
        const pieces = [stream.subarray(0, at), stream.subarray(at)].map((piece) => {
          const buf = new Uint8Array(piece.length + 8).fill(0xff);
          buf.set(piece, 4);
          return { buf, start: 4, end: 4 + piece.length, whole: holdsWholeRecords(piece) };
        });
        const parser = new RecordParser(1 << 20);
        const got: unknown[] = [];
        for (const { buf, start, end, whole } of pieces) {
          assert.equal(holdsWholeRecords(buf, start, end), whole);
          const error = parser.feedAt(buf, start, end, {
            record(_type, bytes, s, length) {
              got.push(decode(bytes.subarray(s, s + length)));
              return true;
            },
          });
          assert.equal(error, undefined);
        }
        assert.deepEqual(got, values);
      }),
      { numRuns: 200 },
    );
  });

  it('reset() returns a failed or mid-record parser to its start state', () => {
    const p = new RecordParser(100);
    const bad = Uint8Array.of(0, 0, 0, 1, 9, 0xc0);
    assert.ok(isTransportError(p.push(bad).error, 'DECODE_ERROR'));
    p.reset();
    assert.equal(p.state, ParserState.HEADER);
    assert.deepEqual(
      p.push(m(7)).records.map((r) => decode(r.body)),
      [7],
    );
    p.push(m(8).subarray(0, 4));
    assert.equal(p.idle, false);
    p.reset();
    assert.equal(p.idle, true);
  });
});
