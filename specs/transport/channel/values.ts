/**
 * Spec helper: arbitrary values MessagePack carries without loss under the channel codec (for round trips),
 * and a fake end type with matching encode/decode contexts, so the codec is tested without sessions.
 */
import fc from 'fast-check';
import { Preface } from '../../../src/transport/channel/preface.js';
import type { DecodeContext, EncodeContext, Reference } from '../../../src/transport/channel/references.js';

/** Stands for a Sender/Receiver/Readable/Writable: encodes as a reference with its preface. */
export class FakeEnd {
  constructor(
    readonly preface: Preface,
    public id = 0,
  ) {}
}

/** Collects FakeEnds in encoding order. */
export class FakeEncodeContext implements EncodeContext {
  readonly ends: FakeEnd[] = [];
  reset(): void {
    this.ends.length = 0;
  }
  reference(value: object): Preface | undefined {
    if (!(value instanceof FakeEnd)) return undefined;
    this.ends.push(value);
    return value.preface;
  }
}

/** Turns each reference back into a FakeEnd; records the references seen. */
export class FakeDecodeContext implements DecodeContext {
  readonly refs: Reference[] = [];
  claim(ref: Reference): unknown {
    this.refs.push(ref);
    return new FakeEnd(ref.preface, ref.id);
  }
}

const nested = fc.constantFrom(
  Preface.NESTED_SEND,
  Preface.NESTED_RECV,
  Preface.BYTES_SEND,
  Preface.BYTES_RECV,
);

/** Scalars that survive encode/decode unchanged (no -0: MessagePack has no negative zero integer). */
export const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double().filter((x) => !Object.is(x, -0)),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.uint8Array({ maxLength: 40 }),
  fc.date({ noInvalidDate: true }),
);

const key = fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__');

/** Arbitrary trees of scalars, arrays and maps, `withEnds` also with FakeEnds, at most 5 levels deep. */
export function messageValue(withEnds: boolean): fc.Arbitrary<unknown> {
  const leaf = withEnds
    ? fc.oneof({ weight: 6, arbitrary: scalar }, { weight: 1, arbitrary: nested.map((p) => new FakeEnd(p)) })
    : scalar;
  return fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, leaf, tie('array'), tie('map')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    map: fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
  })).value;
}

/** Nesting depth as the channel codec defines it: a scalar is 1, each enclosing container adds 1. */
export function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (
    value !== null &&
    typeof value === 'object' &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Date) &&
    !(value instanceof FakeEnd)
  ) {
    return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  }
  return 1;
}
