/**
 * BodyDecoder against what it replaces: scan the body (limits), then decode it with @msgpack/msgpack's
 * Decoder and the channel's ReferenceCodec. Same values for every valid body, same error code for every
 * bad one, and no claim at all for a body that breaks a limit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decoder, Encoder, ExtData } from '@msgpack/msgpack';
import fc from 'fast-check';
import { BodyDecoder } from '../../../src/transport/channel/body-decoder.js';
import { resolveConfig } from '../../../src/transport/channel/config.js';
import { fillReferenceId, MessageCodec } from '../../../src/transport/channel/message-codec.js';
import { Preface } from '../../../src/transport/channel/preface.js';
import { RECORD_HEADER_SIZE, RecordType } from '../../../src/transport/channel/record.js';
import {
  type DecodeContext,
  type Reference,
  ReferenceCodec,
  type ReferenceSlot,
} from '../../../src/transport/channel/references.js';
import { countReferences } from '../../../src/transport/channel/scan.js';
import { isTransportError, transportError } from '../../../src/transport/errors.js';
import { FakeDecodeContext, FakeEncodeContext, FakeEnd, messageValue } from './values.js';

const DEPTH = 6;
const REFS = 3;

/** Claims every reference, except that ids divisible by 5 are BAD_REFERENCE (as an unknown stream is). */
class PickyContext implements DecodeContext {
  readonly claimed: Reference[] = [];
  claim(ref: Reference): unknown {
    if (ref.id % 5 === 0) throw transportError('BAD_REFERENCE', `no stream ${ref.id}`);
    this.claimed.push(ref);
    return new FakeEnd(ref.preface, ref.id);
  }
}

const slot: ReferenceSlot = { encode: undefined, decode: undefined, count: 0 };
const library = new Decoder<ReferenceSlot>({
  extensionCodec: new ReferenceCodec(),
  context: slot,
  useBigInt64: true,
});

/** The old path: scan, then the library's decoder. */
function scanThenDecode(body: Uint8Array, ctx: DecodeContext | undefined): unknown {
  countReferences(body, DEPTH, REFS);
  slot.decode = ctx;
  try {
    return library.decode(body);
  } catch (err) {
    if (isTransportError(err)) throw err;
    throw transportError('DECODE_ERROR', String(err));
  } finally {
    slot.decode = undefined;
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; code: string };

function outcome(run: () => unknown): Outcome {
  try {
    return { ok: true, value: run() };
  } catch (err) {
    assert.ok(isTransportError(err), `not a TransportError: ${String(err)}`);
    return { ok: false, code: err.code };
  }
}

const decoder = new BodyDecoder(DEPTH, REFS);

/** `value` with each Date as text: deepEqual never finds two invalid Dates equal. */
function datesAsText(value: unknown): unknown {
  if (value instanceof Date) return `Date(${value.getTime()})`;
  if (Array.isArray(value)) return value.map(datesAsText);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, datesAsText(v)]));
  }
  return value;
}

/** Decode `body` from inside a larger chunk: 3 bytes before it, 3 after, all 0xc1 (never valid). */
function decodeAll(body: Uint8Array, ctx: DecodeContext | undefined): unknown {
  const chunk = new Uint8Array(body.length + 6).fill(0xc1);
  chunk.set(body, 3);
  return decoder.decode(chunk, 3, body.length, ctx);
}
const codec = new MessageCodec(resolveConfig({ maxNestingDepth: 32, maxReferencesPerMessage: 64 }));

/** `value` encoded as a message body, its ends given ids 1, 2, 3... */
function body(value: unknown): Uint8Array {
  const record = codec.encodeRecord(RecordType.MESSAGE, value, new FakeEncodeContext());
  for (let i = 0; i < record.idOffsets.length; i++) fillReferenceId(record, i, i + 1);
  return record.bytes.slice(RECORD_HEADER_SIZE);
}

describe('BodyDecoder', () => {
  it('gives the values the library gives, references claimed in order', () => {
    fc.assert(
      fc.property(messageValue(true), (value) => {
        const bytes = body(value);
        const expected = outcome(() => scanThenDecode(bytes, new FakeDecodeContext()));
        const ctx = new FakeDecodeContext();
        const got = outcome(() => decodeAll(bytes, ctx));
        assert.deepEqual(got, expected);
        if (got.ok)
          assert.deepEqual(
            ctx.refs.map((r) => r.id),
            ctx.refs.map((_, i) => i + 1),
          );
      }),
      { numRuns: 500 },
    );
  });

  it('fails with the same code as scan-then-decode for damaged and random bodies, claiming nothing on a limit', () => {
    const damaged = fc
      .tuple(messageValue(true), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }), fc.nat())
      .map(([value, writes, cut]) => {
        const bytes = body(value);
        for (const [at, byte] of writes) bytes[at % bytes.length] = byte;
        return bytes.subarray(0, bytes.length - (cut % 3 === 0 ? cut % bytes.length : 0));
      });
    fc.assert(
      fc.property(fc.oneof(damaged, fc.uint8Array({ minLength: 1, maxLength: 40 })), (bytes) => {
        const expected = outcome(() => scanThenDecode(bytes, new PickyContext()));
        const ctx = new PickyContext();
        const got = outcome(() => decodeAll(bytes, ctx));
        assert.equal(got.ok, expected.ok);
        if (got.ok && expected.ok) assert.deepEqual(datesAsText(got.value), datesAsText(expected.value)); // malformed UTF-8 included
        if (!got.ok && !expected.ok) {
          assert.equal(got.code, expected.code);
          if (got.code === 'REFERENCE_LIMIT' || got.code === 'DECODE_ERROR') {
            // A structural failure claims nothing; a semantic one (bad key) may have claimed what came first.
            let structural = false;
            try {
              countReferences(bytes, DEPTH, REFS);
            } catch {
              structural = true;
            }
            if (structural) assert.equal(ctx.claimed.length, 0);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('claims nothing for a message with more references than the limit or nested too deep', () => {
    const ctx = new PickyContext();
    const refs = [1, 2, 3, 4].map((id) => new FakeEnd(Preface.NESTED_SEND, id));
    assert.throws(
      () => decodeAll(body(refs), ctx),
      (e) => isTransportError(e, 'REFERENCE_LIMIT'),
    );
    const deep = [new FakeEnd(Preface.NESTED_RECV), [[[[[1]]]]]];
    assert.throws(
      () => decodeAll(body(deep), ctx),
      (e) => isTransportError(e, 'REFERENCE_LIMIT'),
    );
    assert.equal(ctx.claimed.length, 0);
  });

  it('a bad claim before a bad map key is BAD_REFERENCE, after it DECODE_ERROR (as a decode meets them)', () => {
    // ext 8 of type CHANNEL naming stream 5 (refused by the context), and { a: 1, true: 2 } (a bad key).
    const ref5 = [0xc7, 0x05, 0x01, 0x00, 0x00, 0x00, 0x05, Preface.NESTED_SEND];
    const badMap = [0x82, 0xa1, 0x61, 0x01, 0xc3, 0x02];
    const before = Uint8Array.of(0x92, ...ref5, ...badMap);
    const after = Uint8Array.of(0x92, ...badMap, ...ref5);
    for (const bytes of [before, after]) {
      assert.deepEqual(
        outcome(() => decodeAll(bytes, new PickyContext())),
        outcome(() => scanThenDecode(bytes, new PickyContext())),
      );
    }
    assert.throws(
      () => decodeAll(before, new PickyContext()),
      (e) => isTransportError(e, 'BAD_REFERENCE'),
    );
    assert.throws(
      () => decodeAll(after, new PickyContext()),
      (e) => isTransportError(e, 'DECODE_ERROR'),
    );
  });

  it('a reference with no decode context (an ERROR record) is BAD_REFERENCE; the message itself may be one', () => {
    const one = body(new FakeEnd(Preface.BYTES_RECV));
    assert.throws(
      () => decodeAll(one, undefined),
      (e) => isTransportError(e, 'BAD_REFERENCE'),
    );
    const got = decodeAll(one, new FakeDecodeContext());
    assert.ok(got instanceof FakeEnd);
    assert.equal(got.id, 1);
  });

  it('decodes strings as the library does (short and long, ASCII or not, malformed), refuses __proto__ keys, keeps dates and ExtData', () => {
    const enc = new Encoder({ useBigInt64: true });
    const values = ['', 'add', 'x'.repeat(200), 'y'.repeat(201), 'héllo wörld', '\uFEFFbom', '😀'.repeat(60)];
    for (const v of values) assert.equal(decodeAll(enc.encode(v), undefined), v);
    // Malformed UTF-8 reads as the library reads it: a cut sequence takes the next bytes of the body.
    for (const bytes of [
      Uint8Array.of(0x92, 0xa2, 0x00, 0xc3, 0x05),
      Uint8Array.of(0xa3, 0xf0, 0x9f, 0x98),
      Uint8Array.of(0xa2, 0x80, 0xff),
      Uint8Array.of(0xa1, 0xe2),
      new Uint8Array([0xd9, 201, 0xef, 0xbb, 0xbf, ...new Array(198).fill(0x61)]), // long, leading BOM
    ]) {
      assert.deepEqual(decodeAll(bytes, undefined), scanThenDecode(bytes, undefined));
    }
    const date = new Date(1_700_000_000_123);
    assert.deepEqual(decodeAll(enc.encode({ date, e: new ExtData(7, Uint8Array.of(1, 2)) }), undefined), {
      date,
      e: new ExtData(7, Uint8Array.of(1, 2)),
    });
    // { "__proto__": 1 } written by hand (the encoder would not).
    const proto = Uint8Array.of(0x81, 0xa9, ...new TextEncoder().encode('__proto__'), 0x01);
    assert.throws(
      () => decodeAll(proto, undefined),
      (e) => isTransportError(e, 'DECODE_ERROR'),
    );
  });
});
