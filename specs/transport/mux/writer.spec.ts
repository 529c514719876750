/** The write batch: urgent frames first, one contiguous buffer for small frames, merged Data frames. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeHeader, Flag, FrameType, HEADER_LENGTH } from '../../../src/transport/mux/frame.js';
import { FrameReader, Verdict } from '../../../src/transport/mux/reader.js';
import { COPY_LIMIT, FrameWriter } from '../../../src/transport/mux/writer.js';

/** Parses a batch back into [type, flags, id, length, payload-hex]. */
function parse(parts: Buffer[]): [number, number, number, number, string][] {
  const out: [number, number, number, number, string][] = [];
  const reader = new FrameReader({
    onHeader(_v, type, flags, id, length) {
      out.push([type, flags, id, length, '']);
      return type === FrameType.Data && length > 0 ? Verdict.Payload : Verdict.Next;
    },
    onPayload(p) {
      out.at(-1)![4] += p.toString('hex');
    },
  });
  reader.push(Buffer.concat(parts));
  return out;
}

describe('mux frame writer', () => {
  it('puts urgent frames first and small frames in one contiguous part', () => {
    const w = new FrameWriter();
    w.frame(FrameType.WindowUpdate, Flag.SYN, 1, 0);
    w.data(0, 3, Buffer.from('ab'), 1000);
    w.urgent(FrameType.Ping, Flag.ACK, 0, 7);
    assert.equal(w.queuedBytes, 3 * HEADER_LENGTH + 2);
    const parts = w.take();
    assert.equal(parts.length, 2);
    assert.equal(decodeHeader(parts[0]!).type, FrameType.Ping);
    assert.deepEqual(parse(parts), [
      [FrameType.Ping, Flag.ACK, 0, 7, ''],
      [FrameType.WindowUpdate, Flag.SYN, 1, 0, ''],
      [FrameType.Data, 0, 3, 2, '6162'],
    ]);
    assert.ok(w.isEmpty);
    assert.deepEqual(w.take(), []);
  });

  it('merges consecutive Data frames of one stream up to maxFrame, never across flags or streams', () => {
    const w = new FrameWriter();
    w.data(Flag.SYN, 1, Buffer.from('a'), 4);
    w.data(0, 1, Buffer.from('b'), 4);
    w.data(0, 1, Buffer.from('cd'), 4);
    w.data(0, 1, Buffer.from('e'), 4); // would make 5 > 4
    w.data(0, 3, Buffer.from('x'), 4);
    w.data(0, 1, Buffer.from('f'), 4); // another stream came between
    w.frame(FrameType.WindowUpdate, Flag.FIN, 1, 0);
    w.data(0, 1, Buffer.from('g'), 4); // a frame came between
    w.data(Flag.ACK, 1, Buffer.from('h'), 4); // flags are never merged
    assert.deepEqual(parse(w.take()), [
      [0, Flag.SYN, 1, 4, '61626364'],
      [0, 0, 1, 1, '65'],
      [0, 0, 3, 1, '78'],
      [0, 0, 1, 1, '66'],
      [1, Flag.FIN, 1, 0, ''],
      [0, 0, 1, 1, '67'],
      [0, Flag.ACK, 1, 1, '68'],
    ]);
  });

  it("sets FIN on the last frame when it is the stream's, and then never extends that frame", () => {
    const w = new FrameWriter();
    w.data(Flag.SYN, 1, Buffer.from('a'), 100);
    w.data(0, 1, Buffer.from('b'), 100);
    w.urgent(FrameType.Ping, Flag.ACK, 0, 7); // urgent frames go first: they never break the tail
    assert.equal(w.addFin(3), false, "not the last frame's stream");
    assert.equal(w.addFin(1), true);
    w.data(0, 1, Buffer.from('c'), 100); // (never done after FIN by a stream; the writer still keeps it apart)
    w.frame(FrameType.WindowUpdate, Flag.SYN, 3, 0);
    assert.equal(w.addFin(3), true, 'a flags-only WindowUpdate takes FIN too');
    w.frame(FrameType.WindowUpdate, Flag.RST, 5, 0);
    assert.equal(w.addFin(5), false, 'never on an RST');
    w.frame(FrameType.GoAway, 0, 0, 0);
    assert.equal(w.addFin(0), false, 'never on a session frame');
    w.data(0, 7, Buffer.alloc(COPY_LIMIT + 1, 1), 1 << 20);
    assert.equal(w.addFin(7), true, 'a referenced payload keeps its header in the arena');
    assert.deepEqual(parse(w.take()), [
      [FrameType.Ping, Flag.ACK, 0, 7, ''],
      [FrameType.Data, Flag.SYN | Flag.FIN, 1, 2, '6162'],
      [FrameType.Data, 0, 1, 1, '63'],
      [FrameType.WindowUpdate, Flag.SYN | Flag.FIN, 3, 0, ''],
      [FrameType.WindowUpdate, Flag.RST, 5, 0, ''],
      [FrameType.GoAway, 0, 0, 0, ''],
      [FrameType.Data, Flag.FIN, 7, COPY_LIMIT + 1, '01'.repeat(COPY_LIMIT + 1)],
    ]);
    assert.equal(w.addFin(7), false, 'nothing after take(): those bytes belong to the socket');
  });

  it('references large payloads instead of copying them', () => {
    const w = new FrameWriter();
    const big = Buffer.alloc(COPY_LIMIT + 1, 1);
    w.data(0, 1, big, 1 << 20);
    const parts = w.take();
    assert.equal(parts.length, 2);
    assert.equal(parts[1], big);
  });

  it('starts a batch on a fresh slab when the last one is nearly full, so small frames stay one part', () => {
    const w = new FrameWriter();
    // 7.6 KB batches: without a fresh slab, the 9th would straddle the first 64 KiB slab.
    for (let b = 0; b < 20; b++) {
      for (let i = 0; i < 100; i++) w.data(0, 2 * i + 1, Buffer.alloc(64, b), 1 << 20);
      assert.equal(w.take().length, 1, `batch ${b} is one part`);
    }
  });

  it('never writes again into bytes an earlier batch handed out', () => {
    // Payloads mostly small enough to be copied into the slab, so a few batches fill it.
    const sizes = fc.array(fc.oneof(fc.nat(COPY_LIMIT), fc.nat(3 * COPY_LIMIT)), {
      minLength: 5,
      maxLength: 60,
    });
    fc.assert(
      fc.property(fc.array(sizes, { minLength: 2, maxLength: 12 }), (batches) => {
        const w = new FrameWriter();
        const taken: [Buffer[], string][] = [];
        for (const [b, batch] of batches.entries()) {
          for (const [i, n] of batch.entries()) w.data(0, 2 * i + 1, Buffer.alloc(n, b + 1), 1 << 20);
          const parts = w.take();
          taken.push([parts, Buffer.concat(parts).toString('hex')]);
        }
        for (const [parts, hexAtTake] of taken) assert.equal(Buffer.concat(parts).toString('hex'), hexAtTake);
      }),
      { numRuns: 100 },
    );
  });

  it('any sequence of frames parses back exactly, across arena boundaries', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('data' as const), id: fc.integer({ min: 1, max: 3 }), n: fc.nat(9000) }),
      fc.record({ k: fc.constant('frame' as const), id: fc.integer({ min: 1, max: 3 }), n: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 70_000 }), (ops, maxFrame) => {
        const w = new FrameWriter();
        for (const o of ops) {
          if (o.k === 'data') {
            const n = Math.min(o.n, maxFrame);
            const p = Buffer.alloc(n, o.id);
            w.data(0, o.id, p, maxFrame);
          } else {
            w.frame(FrameType.WindowUpdate, 0, o.id, o.n);
          }
        }
        const frames = parse(w.take());
        // Payload bytes per stream survive in order, whatever merging happened.
        for (const id of [1, 2, 3]) {
          const sent = ops
            .filter((o) => o.k === 'data' && o.id === id)
            .reduce((n, o) => n + Math.min(o.n, maxFrame), 0);
          const got = frames.filter((f) => f[0] === 0 && f[2] === id).reduce((n, f) => n + f[3], 0);
          assert.equal(got, sent);
        }
        assert.ok(frames.every((f) => f[0] !== 0 || f[3] <= maxFrame));
        assert.equal(frames.filter((f) => f[0] === 1).length, ops.filter((o) => o.k === 'frame').length);
      }),
      { numRuns: 200 },
    );
  });
});
