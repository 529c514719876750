/**
 * Pins every yamux wire value (hashicorp const_test.go style), checks the hex vectors of docs/PROTOCOL.md
 * section 3.9 byte for byte, and property-tests the header codec and the streaming frame parser.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeHeader,
  encodeHeader,
  Flag,
  FrameType,
  GoAwayCode,
  HEADER_LENGTH,
  INITIAL_STREAM_WINDOW,
  PROTOCOL_VERSION,
  putHeader,
  writeHeader,
} from '../../../src/transport/mux/frame.js';
import { FrameReader, type FrameSink, Verdict } from '../../../src/transport/mux/reader.js';
import { hex, vector } from '../../support/vectors.js';

describe('mux frame constants', () => {
  it('pins the wire values of hashicorp/yamux spec.md', () => {
    assert.equal(PROTOCOL_VERSION, 0);
    assert.equal(HEADER_LENGTH, 12);
    assert.equal(INITIAL_STREAM_WINDOW, 262144);
    assert.deepEqual({ ...FrameType }, { Data: 0, WindowUpdate: 1, Ping: 2, GoAway: 3 });
    assert.deepEqual({ ...Flag }, { SYN: 1, ACK: 2, FIN: 4, RST: 8 });
    assert.deepEqual({ ...GoAwayCode }, { Normal: 0, ProtocolError: 1, InternalError: 2 });
  });
});

describe('mux frame vectors (docs/PROTOCOL.md 3.9)', () => {
  const cases: [string, Parameters<typeof encodeHeader>[0], number[]][] = [
    ['mux.data-syn', { type: FrameType.Data, flags: Flag.SYN, streamId: 2, length: 1 }, [0x01]],
    [
      'mux.window-update-ack',
      { type: FrameType.WindowUpdate, flags: Flag.ACK, streamId: 2, length: INITIAL_STREAM_WINDOW },
      [],
    ],
    ['mux.ping-syn', { type: FrameType.Ping, flags: Flag.SYN, streamId: 0, length: 7 }, []],
    ['mux.ping-ack', { type: FrameType.Ping, flags: Flag.ACK, streamId: 0, length: 7 }, []],
    [
      'mux.go-away-protocol-error',
      { type: FrameType.GoAway, flags: 0, streamId: 0, length: GoAwayCode.ProtocolError },
      [],
    ],
    ['mux.go-away-normal', { type: FrameType.GoAway, flags: 0, streamId: 0, length: GoAwayCode.Normal }, []],
    ['mux.fin', { type: FrameType.WindowUpdate, flags: Flag.FIN, streamId: 3, length: 0 }, []],
    ['mux.rst', { type: FrameType.WindowUpdate, flags: Flag.RST, streamId: 3, length: 0 }, []],
    [
      'mux.data-syn-fin',
      { type: FrameType.Data, flags: Flag.SYN | Flag.FIN, streamId: 1, length: 3 },
      [0x01, 0x68, 0x69],
    ],
    [
      'mux.data-ack-fin',
      { type: FrameType.Data, flags: Flag.ACK | Flag.FIN, streamId: 1, length: 2 },
      [0x6f, 0x6b],
    ],
  ];
  for (const [name, header, payload] of cases) {
    it(`${name} encodes and decodes byte for byte`, () => {
      const expected = vector(name);
      const actual = Buffer.concat([encodeHeader(header), Uint8Array.from(payload)]);
      assert.equal(hex(actual), hex(expected));
      assert.deepEqual(decodeHeader(expected), { version: 0, ...header });
    });
  }
});

describe('mux header codec', () => {
  const header = fc.record({
    version: fc.integer({ min: 0, max: 255 }),
    type: fc.integer({ min: 0, max: 255 }),
    flags: fc.integer({ min: 0, max: 0xffff }),
    streamId: fc.integer({ min: 0, max: 0xffffffff }),
    length: fc.integer({ min: 0, max: 0xffffffff }),
  });

  it('decode(encode(h)) === h for every field value', () => {
    fc.assert(
      fc.property(header, (h) => {
        assert.deepEqual(decodeHeader(encodeHeader(h)), { ...h });
      }),
      { numRuns: 2000 },
    );
  });

  it('encode(decode(b)) === b for every 12 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 12 }), (b) => {
        assert.deepEqual(encodeHeader(decodeHeader(b)), b);
      }),
      { numRuns: 2000 },
    );
  });

  it('writeHeader writes only its 12 bytes, at the offset', () => {
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 20 }), (h, offset) => {
        const out = new Uint8Array(offset + 12 + 5).fill(0xee);
        writeHeader(out, offset, h.type, h.flags, h.streamId, h.length, h.version);
        assert.deepEqual(decodeHeader(out, offset), { ...h });
        assert.ok(out.subarray(0, offset).every((x) => x === 0xee));
        assert.ok(out.subarray(offset + 12).every((x) => x === 0xee));
      }),
    );
  });

  it('putHeader (the unchecked write path) writes what writeHeader writes, version 0', () => {
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 20 }), (h, offset) => {
        const a = new Uint8Array(offset + 12 + 5).fill(0xee);
        const b = a.slice();
        writeHeader(a, offset, h.type, h.flags, h.streamId, h.length);
        putHeader(b, offset, h.type, h.flags, h.streamId, h.length);
        assert.deepEqual(b, a);
      }),
    );
  });

  it('rejects fields that do not fit and short input', () => {
    const ok = { type: 0, flags: 0, streamId: 1, length: 0 };
    assert.throws(() => encodeHeader({ ...ok, streamId: 2 ** 32 }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, length: -1 }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, flags: 0x10000 }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, type: 1.5 }), RangeError);
    assert.throws(() => decodeHeader(new Uint8Array(11)), RangeError);
    assert.throws(() => writeHeader(new Uint8Array(12), 1, 0, 0, 0, 0), RangeError);
  });
});

interface Parsed {
  version: number;
  type: number;
  flags: number;
  streamId: number;
  length: number;
  payload: string;
}

/** Runs a reader over `chunks`, keeping every payload. */
function parse(chunks: Uint8Array[], skipData = false): Parsed[] {
  const out: Parsed[] = [];
  let pending: Parsed | undefined;
  let pieces: Buffer[] = [];
  const sink: FrameSink = {
    onHeader(version, type, flags, streamId, length) {
      const f = { version, type, flags, streamId, length, payload: '' };
      if (type === FrameType.Data && length > 0 && !skipData) {
        pending = f;
        return Verdict.Payload;
      }
      out.push(f);
      return Verdict.Next;
    },
    onPayload(piece, last) {
      assert.ok(pending, 'payload without a header');
      assert.ok(piece.length > 0, 'no empty pieces');
      pieces.push(piece);
      if (!last) return;
      const payload = Buffer.concat(pieces);
      pieces = [];
      assert.equal(payload.length, pending.length);
      out.push({ ...pending, payload: hex(payload) });
      pending = undefined;
    },
  };
  const reader = new FrameReader(sink);
  for (const c of chunks) reader.push(Buffer.from(c));
  assert.ok(reader.atBoundary, 'input ended inside a frame');
  return out;
}

/** Cuts `bytes` at the given sorted offsets. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('mux streaming frame parser', () => {
  const frame = fc.oneof(
    fc.record({
      type: fc.constant(FrameType.Data),
      flags: fc.integer({ min: 0, max: 15 }),
      streamId: fc.integer({ min: 1, max: 0xffffffff }),
      payload: fc.uint8Array({ maxLength: 300 }),
    }),
    fc.record({
      type: fc.constantFrom(FrameType.WindowUpdate, FrameType.Ping, FrameType.GoAway),
      flags: fc.integer({ min: 0, max: 15 }),
      streamId: fc.integer({ min: 0, max: 0xffffffff }),
      length: fc.integer({ min: 0, max: 0xffffffff }),
    }),
  );
  const encode = (
    f: { type: number; flags: number; streamId: number } & ({ payload: Uint8Array } | { length: number }),
  ): Uint8Array =>
    'payload' in f
      ? Buffer.concat([encodeHeader({ ...f, length: f.payload.length }), f.payload])
      : encodeHeader(f);

  it('gives identical frames however the input is split into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (frames, cuts) => {
          const wire = Buffer.concat(frames.map(encode));
          const whole = parse([wire]);
          assert.equal(whole.length, frames.length);
          assert.deepEqual(parse(split(wire, cuts)), whole);
          // One byte at a time is the worst case for the header and payload assembly.
          if (wire.length < 2000) assert.deepEqual(parse(split(wire, [...wire.keys()])), whole);
          // Skipped payloads leave the parser on the next header all the same.
          assert.deepEqual(
            parse(split(wire, cuts), true).map((f) => f.streamId),
            whole.map((f) => f.streamId),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hands out a view of the chunk, not a copy, when the payload lies within it', () => {
    const wire = Buffer.concat([
      encodeHeader({ type: 0, flags: 0, streamId: 1, length: 3 }),
      Buffer.from('abc'),
    ]);
    let got: Buffer | undefined;
    new FrameReader({
      onHeader: () => Verdict.Payload,
      onPayload: (p) => {
        got = p;
      },
    }).push(wire);
    assert.ok(got);
    assert.equal(got.buffer, wire.buffer);
  });

  it('a sink with onPayloadAt gets the chunks themselves with offsets: the same bytes, however they are cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }),
        (payloads, cutSizes) => {
          const wire = Buffer.concat(
            payloads.map((p) =>
              Buffer.concat([encodeHeader({ type: 0, flags: 0, streamId: 1, length: p.length }), p]),
            ),
          );
          const viewsSeen: string[] = [];
          const offsetsSeen: string[] = [];
          const chunks: Buffer[] = [];
          for (let at = 0, i = 0; at < wire.length; i++) {
            const n = cutSizes[i % cutSizes.length]!;
            chunks.push(Buffer.from(wire.subarray(at, at + n)));
            at += n;
          }
          const byViews = new FrameReader({
            onHeader: () => Verdict.Payload,
            onPayload: (p, last) => void viewsSeen.push(`${p.toString('hex')}${last ? '|' : ''}`),
          });
          const byOffsets = new FrameReader({
            onHeader: () => Verdict.Payload,
            onPayload: () => assert.fail('onPayload is not called when onPayloadAt is present'),
            onPayloadAt: (chunk, start, end, last) => {
              assert.ok(chunks.includes(chunk), 'the socket chunk itself');
              assert.ok(start >= 0 && start < end && end <= chunk.length, 'a non-empty range of it');
              offsetsSeen.push(`${chunk.toString('hex', start, end)}${last ? '|' : ''}`);
            },
          });
          for (const c of chunks) {
            byViews.push(c);
            byOffsets.push(c);
          }
          assert.deepEqual(offsetsSeen, viewsSeen);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hands a payload that spans chunks over as views of each chunk, never a copy', () => {
    const wire = Buffer.concat([
      encodeHeader({ type: 0, flags: 0, streamId: 1, length: 10 }),
      Buffer.from('0123456789'),
      encodeHeader({ type: 1, flags: 0, streamId: 1, length: 0 }),
    ]);
    // Each chunk on its own ArrayBuffer (as a socket read is), so a shared buffer proves a view.
    const chunks = [wire.subarray(0, 15), wire.subarray(15, 19), wire.subarray(19)].map((c) =>
      Buffer.from(new Uint8Array(c).buffer),
    );
    const got: [Buffer, boolean][] = [];
    const reader = new FrameReader({
      onHeader: () => Verdict.Payload,
      onPayload: (p, last) => void got.push([p, last]),
    });
    for (const c of chunks) reader.push(c);
    assert.deepEqual(
      got.map(([p, last]) => [p.toString(), last]),
      [
        ['012', false],
        ['3456', false],
        ['789', true],
      ],
    );
    for (const [i, [p]] of got.entries()) {
      assert.equal(p.buffer, chunks[i]!.buffer, `piece ${i} is a view of chunk ${i}`);
    }
    assert.ok(reader.atBoundary);
  });

  it('stops for good on Stop, inside onHeader or onPayload', () => {
    const wire = Buffer.concat([encodeHeader({ type: 1, flags: 0, streamId: 1, length: 0 })]);
    let seen = 0;
    const reader = new FrameReader({
      onHeader: () => (++seen === 1 ? Verdict.Stop : Verdict.Next),
      onPayload() {},
    });
    reader.push(Buffer.concat([wire, wire, wire]));
    reader.push(wire);
    assert.equal(seen, 1);
  });
});
