/**
 * Structured channel input: sequences of records (docs/PROTOCOL.md 4.2) whose bodies are real
 * MessagePack values — nested maps and arrays, strings, binaries, dates, big integers, foreign extension
 * types — with channel and byte-stream references (4.3) placed anywhere, naming the nested streams the
 * fuzz peer opened (with the right preface or a wrong one), streams that do not exist, or stream 0.
 */
import { Encoder, ExtData } from '@msgpack/msgpack';
import fc from 'fast-check';
import { encodeReferencePayload, frameRecord, RecordType } from '../../src/transport/channel/index.js';
import { concat } from './mutate.js';

/** The nested streams a fuzz peer opens before its channel: id and preface, in opening order. */
export interface NestedStream {
  readonly id: number;
  readonly preface: number;
}

const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: false });

/** A reference ext value: to one of `nested` (mostly with its own preface), or to something bogus. */
function reference(nested: readonly NestedStream[]): fc.Arbitrary<ExtData> {
  const good =
    nested.length === 0
      ? fc.constant(new ExtData(1, payload(0, 0)))
      : fc.constantFrom(...nested).map((n) => new ExtData(n.preface <= 3 ? 1 : 2, payload(n.id, n.preface)));
  const bad = fc
    .tuple(
      fc.constantFrom(1, 2),
      fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 9, 100_001), fc.nat()),
      fc.integer({ min: 0, max: 7 }),
    )
    .map(([ext, id, preface]) => new ExtData(ext, payload(id, preface)));
  const odd = fc.uint8Array({ maxLength: 8 }).map((p) => new ExtData(1, p));
  return fc.oneof(
    { weight: 6, arbitrary: good },
    { weight: 3, arbitrary: bad },
    { weight: 1, arbitrary: odd },
  );
}

function payload(id: number, preface: number): Uint8Array {
  return encodeReferencePayload(id >>> 0, preface as never);
}

/** A MessagePack-encodable value, `maxDepth` deep at most, with references in it now and then. */
export function messageValue(nested: readonly NestedStream[], maxDepth = 4): fc.Arbitrary<unknown> {
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true, maxDepth },
      { weight: 6, arbitrary: leaf(nested) },
      { weight: 2, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
      { weight: 2, arbitrary: fc.dictionary(key(), tie('value'), { maxKeys: 4 }) },
    ),
  }));
  return value;
}

function key(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('m', 'a', 'r', 's', 't', 'x', 'n', 'v', 'code', 'message'),
    fc.string({ maxLength: 6 }),
  );
}

function leaf(nested: readonly NestedStream[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)) },
    { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) },
    { weight: 1, arbitrary: fc.date({ noInvalidDate: true }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 3, max: 127 }), fc.uint8Array({ maxLength: 6 }))
        .map(([t, d]) => new ExtData(t, d)),
    },
    { weight: 3, arbitrary: reference(nested) },
  );
}

/** One record: a MESSAGE of a random value, or an ERROR (well-formed or not). */
export function record(nested: readonly NestedStream[]): fc.Arbitrary<Uint8Array> {
  const message = messageValue(nested).map((v) => frameRecord(RecordType.MESSAGE, encoder.encode(v)));
  const error = fc
    .record({
      code: fc.oneof(
        fc.constantFrom('NOT_FOUND', 'UNKNOWN', 'RESOURCE_EXHAUSTED'),
        fc.string({ maxLength: 8 }),
      ),
      message: fc.string({ maxLength: 16 }),
      details: fc.option(messageValue(nested, 2), { nil: undefined }),
    })
    .map((body) => {
      const b: Record<string, unknown> = { code: body.code, message: body.message };
      if (body.details !== undefined) b.details = body.details;
      return frameRecord(RecordType.ERROR, encoder.encode(b));
    });
  const malformedError = messageValue(nested, 2).map((v) => frameRecord(RecordType.ERROR, encoder.encode(v)));
  return fc.oneof(
    { weight: 8, arbitrary: message },
    { weight: 1, arbitrary: error },
    { weight: 1, arbitrary: malformedError },
  );
}

/** 1 to `max` records back to back. */
export function records(nested: readonly NestedStream[], max = 3): fc.Arbitrary<Uint8Array> {
  return fc.array(record(nested), { minLength: 1, maxLength: max }).map(concat);
}
