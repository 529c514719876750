import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { resolveConfig } from '../../../src/transport/channel/config.js';
import { fillReferenceId, MessageCodec } from '../../../src/transport/channel/message-codec.js';
import { Preface } from '../../../src/transport/channel/preface.js';
import { RECORD_HEADER_SIZE, RecordParser, RecordType } from '../../../src/transport/channel/record.js';
import { isTransportError, type TransportErrorCode } from '../../../src/transport/errors.js';
import { hex, vector } from '../../support/vectors.js';
import { collect, rawStream } from './helpers.js';
import { makePair } from './pair.js';
import { FakeDecodeContext, FakeEncodeContext, FakeEnd, messageValue } from './values.js';

const noEnds = new FakeEncodeContext();

/** `value` as it decodes: a bigint in the safe integer range arrives as a number (PROTOCOL.md 4.3). */
function safeAsNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (Array.isArray(value)) return value.map(safeAsNumbers);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, safeAsNumbers(v)]));
  }
  return value;
}

function utf8(text: string): number[] {
  return [...new TextEncoder().encode(text)];
}

/** Big-endian bytes of a u32. */
function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function rejects(code: TransportErrorCode) {
  return (e: unknown) => isTransportError(e, code);
}

/** Encode, give the ends ids 1, 3, 5..., parse the record back and decode it. */
function roundTrip(codec: MessageCodec, value: unknown): { decoded: unknown; ctx: FakeDecodeContext } {
  const enc = new FakeEncodeContext();
  const record = codec.encodeRecord(RecordType.MESSAGE, value, enc);
  assert.equal(record.idOffsets.length, enc.ends.length);
  enc.ends.forEach((end, i) => {
    end.id = 2 * i + 1;
    fillReferenceId(record, i, end.id);
  });
  const { records, error } = new RecordParser(1 << 20).push(record.bytes);
  assert.equal(error, undefined);
  assert.equal(records.length, 1);
  const ctx = new FakeDecodeContext();
  return { decoded: codec.decodeBody(records[0]!.body, ctx), ctx };
}

describe('MessageCodec', () => {
  it('encodes a call with a reply channel exactly as the vector', () => {
    const codec = new MessageCodec(resolveConfig());
    const ctx = new FakeEncodeContext();
    const record = codec.encodeRecord(
      RecordType.MESSAGE,
      { op: 'add', args: [1, 2], reply: new FakeEnd(Preface.NESTED_RECV) },
      ctx,
    );
    fillReferenceId(record, 0, 3);
    assert.equal(hex(record.bytes), hex(vector('channel.record-call')));
  });

  it('decodes the call vector, claiming stream 3', () => {
    const codec = new MessageCodec(resolveConfig());
    const ctx = new FakeDecodeContext();
    const value = codec.decodeBody(vector('channel.record-call').subarray(RECORD_HEADER_SIZE), ctx);
    assert.deepEqual(value, { op: 'add', args: [1, 2], reply: new FakeEnd(Preface.NESTED_RECV, 3) });
  });

  it('encodes an ERROR record exactly as the vector and decodes it back', () => {
    const codec = new MessageCodec(resolveConfig());
    const record = codec.encodeErrorRecord('NOT_FOUND', 'no such actor', undefined, noEnds);
    assert.equal(hex(record.bytes), hex(vector('channel.record-error')));
    assert.deepEqual(codec.decodeErrorBody(record.bytes.subarray(RECORD_HEADER_SIZE)), {
      code: 'NOT_FOUND',
      message: 'no such actor',
      details: undefined,
    });
    const withDetails = codec.encodeErrorRecord('E', 'm', { n: [1n, 'x'] }, noEnds);
    assert.deepEqual(codec.decodeErrorBody(withDetails.bytes.subarray(RECORD_HEADER_SIZE)).details, {
      n: [1, 'x'],
    });
  });

  it('round-trips arbitrary values, with references anywhere', () => {
    const codec = new MessageCodec(resolveConfig());
    fc.assert(
      fc.property(messageValue(true), (value) => {
        const { decoded } = roundTrip(codec, value);
        assert.deepStrictEqual(decoded, safeAsNumbers(value));
      }),
      { numRuns: 500 },
    );
  });

  it('writes ids into the record without disturbing the rest, in encoding order', () => {
    const codec = new MessageCodec(resolveConfig());
    const a = new FakeEnd(Preface.BYTES_RECV);
    const b = new FakeEnd(Preface.NESTED_SEND);
    const { decoded, ctx } = roundTrip(codec, { x: [a, 'pad', { y: b }], z: 1 });
    assert.deepEqual(
      ctx.refs.map((r) => [r.id, r.preface]),
      [
        [1, Preface.BYTES_RECV],
        [3, Preface.NESTED_SEND],
      ],
    );
    assert.deepEqual(decoded, { x: [a, 'pad', { y: b }], z: 1 });
  });

  it('rejects a message above maxMessageSize before anything is collected for it to open', () => {
    const codec = new MessageCodec(resolveConfig({ maxMessageSize: 100 }));
    assert.throws(
      () => codec.encodeRecord(RecordType.MESSAGE, new Uint8Array(100), noEnds),
      rejects('MESSAGE_TOO_LARGE'),
    );
    // Exactly at the limit is fine (bin 8 header is 2 bytes).
    codec.encodeRecord(RecordType.MESSAGE, new Uint8Array(98), noEnds);
  });

  it('does not keep an encoder grown for a message above 256 KiB, even one refused as too large', () => {
    const codec = new MessageCodec(resolveConfig({ maxMessageSize: 1024 }));
    const encoder = () => (codec as unknown as { encoder: object }).encoder;
    const before = encoder();
    assert.throws(
      () => codec.encodeRecord(RecordType.MESSAGE, new Uint8Array(200 * 1024), noEnds),
      rejects('MESSAGE_TOO_LARGE'),
    );
    assert.equal(encoder(), before, 'kept below the threshold');
    assert.throws(
      () => codec.encodeRecord(RecordType.MESSAGE, new Uint8Array(300 * 1024), noEnds),
      rejects('MESSAGE_TOO_LARGE'),
    );
    assert.notEqual(encoder(), before, 'replaced above it');
  });

  it('keeps working after a large message (the encoder buffer is replaced)', () => {
    const codec = new MessageCodec(resolveConfig());
    codec.encodeRecord(RecordType.MESSAGE, new Uint8Array(1 << 20), noEnds);
    const r = codec.encodeRecord(RecordType.MESSAGE, { op: 'add', args: [1, 2] }, noEnds);
    assert.equal(hex(r.bytes), hex(vector('channel.record-message')));
  });

  it('limits depth with REFERENCE_LIMIT on both sides', () => {
    const codec = new MessageCodec(resolveConfig({ maxNestingDepth: 3 }));
    codec.encodeRecord(RecordType.MESSAGE, [[1]], noEnds);
    assert.throws(() => codec.encodeRecord(RecordType.MESSAGE, [[[1]]], noEnds), rejects('REFERENCE_LIMIT'));
    const deep = Uint8Array.of(0x91, 0x91, 0x91, 0x01);
    assert.throws(() => codec.decodeBody(deep, new FakeDecodeContext()), rejects('REFERENCE_LIMIT'));
  });

  it('limits references per message with REFERENCE_LIMIT on decode, before claiming any', () => {
    const big = new MessageCodec(resolveConfig());
    const ends = [1, 2, 3].map(() => new FakeEnd(Preface.NESTED_SEND));
    const record = big.encodeRecord(RecordType.MESSAGE, ends, new FakeEncodeContext());
    for (let i = 0; i < ends.length; i++) fillReferenceId(record, i, 2 * i + 1);
    const small = new MessageCodec(resolveConfig({ maxReferencesPerMessage: 2 }));
    const ctx = new FakeDecodeContext();
    assert.throws(
      () => small.decodeBody(record.bytes.subarray(RECORD_HEADER_SIZE), ctx),
      rejects('REFERENCE_LIMIT'),
    );
    assert.equal(ctx.refs.length, 0);
  });

  it('refuses values MessagePack cannot carry with ENCODE_ERROR', () => {
    const codec = new MessageCodec(resolveConfig());
    assert.throws(
      () => codec.encodeRecord(RecordType.MESSAGE, { f: () => 1 }, noEnds),
      rejects('ENCODE_ERROR'),
    );
    assert.throws(
      () => codec.encodeRecord(RecordType.MESSAGE, [Symbol('s')], noEnds),
      rejects('ENCODE_ERROR'),
    );
  });

  it('refuses a bigint outside 64 bits (ENCODE_ERROR) instead of wrapping it', () => {
    const codec = new MessageCodec(resolveConfig());
    for (const v of [2n ** 64n, -(2n ** 63n) - 1n]) {
      assert.throws(() => codec.encodeRecord(RecordType.MESSAGE, { v }, noEnds), rejects('ENCODE_ERROR'));
    }
    for (const v of [2n ** 64n - 1n, -(2n ** 63n)]) {
      const { decoded } = roundTrip(codec, { v });
      assert.deepEqual(decoded, { v });
    }
  });

  it('refuses a bigint outside 64 bits wherever it is: whole message, array, map, class instance, next to an end', () => {
    const codec = new MessageCodec(resolveConfig());
    const big = 2n ** 64n;
    class Point {
      constructor(readonly x: bigint) {}
    }
    for (const value of [
      big,
      -big,
      [1, [2, big]],
      { a: { b: [{ c: -(2n ** 63n) - 1n }] } },
      [new Point(big)],
      { end: new FakeEnd(Preface.NESTED_SEND), v: big },
    ]) {
      assert.throws(
        () => codec.encodeRecord(RecordType.MESSAGE, value, new FakeEncodeContext()),
        rejects('ENCODE_ERROR'),
      );
    }
    // The codec is fine afterwards, and values in range (with bytes 0xcf/0xd3 about) still encode.
    const { decoded } = roundTrip(codec, {
      f: 1.2345e-300,
      s: 'ϏӓӓϏ',
      v: [2n ** 63n, new Point(-(2n ** 63n))],
    });
    assert.deepEqual(decoded, { f: 1.2345e-300, s: 'ϏӓӓϏ', v: [2n ** 63n, { x: -(2n ** 63n) }] });
  });

  it('finds the reference placeholders when user data looks like one', () => {
    const codec = new MessageCodec(resolveConfig());
    // ext 8, length 5, type CHANNEL, id 0, preface NESTED_RECV: what a placeholder looks like.
    const lookalike = Uint8Array.of(0xc7, 0x05, 0x01, 0, 0, 0, 0, Preface.NESTED_RECV);
    const a = new FakeEnd(Preface.NESTED_RECV);
    const b = new FakeEnd(Preface.BYTES_SEND);
    const value = { x: lookalike, a, s: String.fromCharCode(...lookalike), b, y: lookalike };
    const { decoded, ctx } = roundTrip(codec, value);
    assert.deepEqual(decoded, value);
    assert.deepEqual(
      ctx.refs.map((r) => r.id),
      [1, 3],
    );
  });

  it('turns a circular value into REFERENCE_LIMIT, not a stack overflow', () => {
    const codec = new MessageCodec(resolveConfig());
    const a: unknown[] = [];
    a.push(a);
    assert.throws(() => codec.encodeRecord(RecordType.MESSAGE, a, noEnds), rejects('REFERENCE_LIMIT'));
  });

  it('propagates the context errors unchanged', () => {
    const codec = new MessageCodec(resolveConfig());
    const boom = {
      reset() {},
      reference() {
        throw new Error('not typed');
      },
    };
    // The context is asked about values that could be ends (not plain objects or arrays): a class instance.
    class Thing {}
    assert.throws(() => codec.encodeRecord(RecordType.MESSAGE, [new Thing()], boom), rejects('ENCODE_ERROR'));
  });

  it('rejects malformed error bodies with DECODE_ERROR, references in them with BAD_REFERENCE', () => {
    const codec = new MessageCodec(resolveConfig());
    const body = (v: unknown) =>
      codec.encodeRecord(RecordType.ERROR, v, noEnds).bytes.subarray(RECORD_HEADER_SIZE);
    assert.throws(() => codec.decodeErrorBody(body([1])), rejects('DECODE_ERROR'));
    assert.throws(() => codec.decodeErrorBody(body({ code: 1, message: 'm' })), rejects('DECODE_ERROR'));
    assert.throws(() => codec.decodeErrorBody(body({ code: 'c' })), rejects('DECODE_ERROR'));
    const withRef = codec.encodeRecord(
      RecordType.ERROR,
      { code: 'c', message: 'm', d: new FakeEnd(Preface.NESTED_SEND) },
      new FakeEncodeContext(),
    );
    fillReferenceId(withRef, 0, 1);
    assert.throws(
      () => codec.decodeErrorBody(withRef.bytes.subarray(RECORD_HEADER_SIZE)),
      rejects('BAD_REFERENCE'),
    );
  });

  it('gives only typed errors for arbitrary, truncated or corrupted bodies', () => {
    const codec = new MessageCodec(resolveConfig({ maxNestingDepth: 8, maxReferencesPerMessage: 4 }));
    const typed = (e: unknown) =>
      isTransportError(e, 'DECODE_ERROR') ||
      isTransportError(e, 'REFERENCE_LIMIT') ||
      isTransportError(e, 'BAD_REFERENCE');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          codec.decodeBody(bytes, new FakeDecodeContext());
        } catch (e) {
          assert.ok(typed(e), String(e));
        }
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(messageValue(true), fc.nat(), fc.nat(255), (value, at, byte) => {
        const enc = new FakeEncodeContext();
        let record: ReturnType<MessageCodec['encodeRecord']>;
        try {
          record = codec.encodeRecord(RecordType.MESSAGE, value, enc);
        } catch (e) {
          assert.ok(isTransportError(e, 'REFERENCE_LIMIT'), String(e));
          return;
        }
        const body = Uint8Array.from(record.bytes.subarray(RECORD_HEADER_SIZE));
        body[at % body.length] = byte;
        for (const input of [body, body.subarray(0, at % body.length)]) {
          try {
            codec.decodeBody(input, new FakeDecodeContext());
          } catch (e) {
            assert.ok(typed(e), String(e));
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('decodes an int 64 / uint 64 as a number when it is a safe integer, as a bigint only outside', () => {
    const codec = new MessageCodec(resolveConfig());
    const u64 = (hi: number, lo: number) => [0xcf, ...be32(hi), ...be32(lo)];
    const i64 = (hi: number, lo: number) => [0xd3, ...be32(hi), ...be32(lo)];
    const cases: [number[], unknown][] = [
      [u64(0, 5), 5],
      [i64(0, 5), 5],
      [i64(0xffff_ffff, 0xffff_fffb), -5],
      [u64(0x1f_ffff, 0xffff_ffff), Number.MAX_SAFE_INTEGER],
      [i64(0xffe0_0000, 1), Number.MIN_SAFE_INTEGER],
      [u64(0x20_0000, 0), 2n ** 53n],
      [i64(0xffe0_0000, 0), -(2n ** 53n)],
      [u64(0xffff_ffff, 0xffff_ffff), 2n ** 64n - 1n],
      [i64(0x8000_0000, 0), -(2n ** 63n)],
    ];
    for (const [bytes, expected] of cases) {
      assert.deepStrictEqual(
        codec.decodeBody(Uint8Array.from(bytes), undefined),
        expected,
        hex(Uint8Array.from(bytes)),
      );
      // The same inside containers, and in an ERROR body's details.
      const nested = Uint8Array.of(0x81, 0xa1, 0x6b, 0x92, ...bytes, 0xc0);
      assert.deepStrictEqual(codec.decodeBody(nested, undefined), { k: [expected, null] });
      const error = Uint8Array.of(0x83, 0xa4, ...utf8('code'), 0xa1, 0x45, 0xa7, ...utf8('message'), 0xa0);
      const details = Uint8Array.of(...error, 0xa7, ...utf8('details'), ...bytes);
      assert.deepStrictEqual(codec.decodeErrorBody(details).details, expected);
    }
  });

  it('decodes a __proto__ key as an own property, in key order, and sets no prototype', () => {
    const codec = new MessageCodec(resolveConfig());
    const proto = utf8('__proto__');
    // { "a": 1, "__proto__": { "x": 1 }, "timestamp": "__proto__" } ("timestamp" is another 9-byte key).
    const body = Uint8Array.of(
      ...[0x83, 0xa1, 0x61, 0x01],
      ...[0xa9, ...proto, 0x81, 0xa1, 0x78, 0x01],
      ...[0xa9, ...utf8('timestamp'), 0xa9, ...proto],
    );
    const value = codec.decodeBody(body, undefined) as Record<string, unknown>;
    assert.deepStrictEqual(value, JSON.parse('{"a":1,"__proto__":{"x":1},"timestamp":"__proto__"}'));
    assert.deepEqual(Object.keys(value), ['a', '__proto__', 'timestamp']);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, { x: 1 });
    assert.equal((value as { x?: unknown }).x, undefined);
    // As str 8, nested in an array, next to a 64-bit integer and a reference.
    const ctx = new FakeDecodeContext();
    const nested = Uint8Array.of(
      ...[0x93, 0x81, 0xd9, 0x09, ...proto, 0xcf, 0, 0, 0, 0, 0, 0, 0, 7],
      ...[0xc7, 0x05, 0x01, 0, 0, 0, 3, Preface.NESTED_RECV, 0xa9, ...proto],
    );
    const decoded = codec.decodeBody(nested, ctx) as unknown[];
    assert.deepStrictEqual(decoded[0], JSON.parse('{"__proto__":7}'));
    assert.deepEqual(decoded[1], new FakeEnd(Preface.NESTED_RECV, 3));
    assert.equal(decoded[2], '__proto__');
    assert.equal(({} as { x?: unknown }).x, undefined);
  });

  it('encodes an own __proto__ property as a map key (what JSON.parse gives) and decodes it back', () => {
    const codec = new MessageCodec(resolveConfig());
    const value = JSON.parse('{"__proto__":{"x":[1]},"b":2}');
    const record = codec.encodeRecord(RecordType.MESSAGE, value, noEnds);
    const body = record.bytes.subarray(RECORD_HEADER_SIZE);
    assert.equal(
      hex(body),
      hex(Uint8Array.of(0x82, 0xa9, ...utf8('__proto__'), 0x81, 0xa1, 0x78, 0x91, 0x01, 0xa1, 0x62, 0x02)),
    );
    assert.deepStrictEqual(codec.decodeBody(body, undefined), value);
  });

  it('decodes a binary value as a plain Uint8Array, also from a body cut from a Buffer', () => {
    const codec = new MessageCodec(resolveConfig());
    // A record's body in a Buffer chunk (as the multiplexer delivers them): [bin 8 of 0 bytes, bin 8 "ab"].
    const chunk = Buffer.from([0xff, 0x92, 0xc4, 0x00, 0xc4, 0x02, 0x61, 0x62, 0xff]);
    for (const value of [
      codec.decodeBodyAt(chunk, 1, 7, undefined),
      codec.decodeBody(chunk.subarray(1, 8), undefined),
    ] as Uint8Array[][]) {
      assert.deepStrictEqual(value, [new Uint8Array(0), Uint8Array.of(0x61, 0x62)]);
      for (const bin of value) assert.equal(Object.getPrototypeOf(bin), Uint8Array.prototype);
    }
  });

  it('decodes a body the same wherever it lies: bytes after it in the buffer are never read', () => {
    // A one-byte string holding a lone 0xc0 (the start of a two-byte UTF-8 sequence): the library's
    // decoder reads one byte further for it. It must see the end of the body, not the next record.
    const codec = new MessageCodec(resolveConfig());
    const body = Uint8Array.of(0xa1, 0xc0);
    const alone = decode(Uint8Array.from(body));
    for (const next of [0x20, 0x00, 0x7f, 0xe0]) {
      const chunk = Uint8Array.of(0xa1, 0xc0, next, 0x00, 0x00, 0x00);
      assert.equal(codec.decodeBodyAt(chunk, 0, 2, undefined), alone);
      assert.equal(codec.decodeBody(chunk.subarray(0, 2), undefined), alone);
    }
    // The same inside a larger body: a string at the end of an array.
    const array = Uint8Array.of(0x92, 0x01, 0xa1, 0xc0, 0x20);
    assert.deepEqual(codec.decodeBodyAt(array, 0, 4, undefined), decode(array.subarray(0, 4).slice()));
  });
});

describe('MessageCodec through a ChannelSession', () => {
  it('delivers a record holding a truncated UTF-8 sequence as its own bytes say, whatever follows it', async () => {
    // The next record's header starts with 0x20 (a length of 512 MiB, allowed here): the byte after the
    // body is one the old in-place decoder read as the missing continuation byte.
    const p = await makePair('memory', 'client-opens', { b: { maxMessageSize: 0x3000_0000 } });
    try {
      const got = p.b.accept<unknown>().then(collect);
      const { stream } = rawStream(p.a, Preface.CHANNEL);
      stream.write(
        Uint8Array.of(0, 0, 0, 2, RecordType.MESSAGE, 0xa1, 0xc0, 0x20, 0, 0, 0, RecordType.MESSAGE),
      );
      stream.end();
      const { values, error } = await got;
      assert.deepEqual(values, [decode(Uint8Array.of(0xa1, 0xc0))]);
      assert.ok(isTransportError(error, 'DECODE_ERROR'), 'the stream ends inside the second record');
      await p.finish();
    } finally {
      await p.teardown();
    }
  });

  for (const direction of ['client-opens', 'server-opens'] as const) {
    it(`carries a __proto__ key as an own property both ways, without touching any prototype (${direction})`, async () => {
      const p = await makePair('memory', direction);
      try {
        const got = p.b.accept<unknown>().then(collect);
        const sender = p.a.open<unknown>();
        // What JSON.parse gives: an own property named __proto__ (the object's prototype is untouched).
        await sender.send(JSON.parse('{"a":1,"__proto__":{"polluted":true},"z":[{"__proto__":null}]}'));
        sender.close();
        const { values, error } = await got;
        assert.equal(error, undefined);
        const [value] = values as Record<string, unknown>[];
        assert.equal(Object.getPrototypeOf(value), Object.prototype);
        assert.deepEqual(Object.keys(value!), ['a', '__proto__', 'z']);
        assert.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, { polluted: true });
        const inner = (value!.z as Record<string, unknown>[])[0]!;
        assert.ok(Object.hasOwn(inner, '__proto__'));
        assert.equal(Object.getPrototypeOf(inner), Object.prototype);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        await p.finish();
      } finally {
        await p.teardown();
      }
    });
  }

  it('delivers 64-bit integers from another encoder: safe ones as numbers, the others as bigints', async () => {
    const p = await makePair('memory', 'client-opens');
    try {
      const got = p.b.accept<unknown>().then(collect);
      const { stream } = rawStream(p.a, Preface.CHANNEL);
      const body = Uint8Array.of(
        ...[0x93, 0xcf, 0, 0, 0, 0, 0, 0, 0, 5], // [uint 64 5,
        ...[0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb], // int 64 -5,
        ...[0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0], // uint 64 2^53]
      );
      stream.write(Uint8Array.of(0, 0, 0, body.length, RecordType.MESSAGE, ...body));
      stream.end();
      const { values, error } = await got;
      assert.equal(error, undefined);
      assert.deepStrictEqual(values, [[5, -5, 2n ** 53n]]);
      await p.finish();
    } finally {
      await p.teardown();
    }
  });
});
