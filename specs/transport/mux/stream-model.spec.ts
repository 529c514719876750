/**
 * A model test of stream lifecycles: fast-check generates sequences of open / write / end / reset /
 * pause / resume / wait on both sides of a session pair (in memory, delivered in odd-sized chunks), then
 * every stream is finished off. Whatever the sequence:
 * - every stream end gets onClose exactly once, and both tables end empty;
 * - a stream nobody reset delivers exactly the bytes written, in order, then onEnd once, then closes
 *   cleanly on both sides;
 * - a reset stream closes with STREAM_RESET on both sides, and what was delivered is a prefix of what was
 *   written (except on a side that had already finished cleanly when a RST sent after the peer's FIN
 *   arrived: that side has everything);
 * - no receiver ever buffers more than its window.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isTransportError, type TransportError } from '../../../src/transport/errors.js';
import { defaultConfig } from '../../../src/transport/mux/config.js';
import { INITIAL_STREAM_WINDOW } from '../../../src/transport/mux/frame.js';
import { Session, type Stream } from '../../../src/transport/mux/index.js';
import { memoryDuplexPair } from '../../support/memory-duplex.js';
import { pattern, tick, until } from './harness.js';

const MAX_STREAM_WINDOW = defaultConfig().maxStreamWindow;

interface End {
  stream: Stream;
  written: Buffer[];
  received: Buffer[];
  endCount: number;
  closes: (TransportError | undefined)[];
  wroteEnd: boolean;
  resetByUs: boolean;
}

interface Entry {
  ends: [End, End | undefined]; // [opener's, acceptor's]
}

type Op =
  | { k: 'open'; side: 0 | 1 }
  | { k: 'write'; i: number; side: 0 | 1; n: number }
  | { k: 'end' | 'reset' | 'pause' | 'resume'; i: number; side: 0 | 1 }
  | { k: 'wait'; ms: number };

const side = fc.constantFrom<0 | 1>(0, 1);
const idx = fc.nat(7);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('open' as const), side }) },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('write' as const),
      i: idx,
      side,
      n: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 400_000 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constantFrom('end' as const, 'pause' as const, 'resume' as const),
      i: idx,
      side,
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reset' as const), i: idx, side }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('wait' as const), ms: fc.constantFrom(0, 0, 1, 5) }) },
);

function attach(stream: Stream): End {
  const end: End = {
    stream,
    written: [],
    received: [],
    endCount: 0,
    closes: [],
    wroteEnd: false,
    resetByUs: false,
  };
  stream.listen({
    onData: (c) => void end.received.push(Buffer.from(c)),
    onEnd: () => {
      end.endCount++;
    },
    onClose: (err) => void end.closes.push(err),
  });
  return end;
}

async function run(ops: Op[], chunk: number): Promise<void> {
  const [a, b] = memoryDuplexPair({ maxChunk: chunk });
  const sessions = [
    new Session(a, 'client', { keepAliveIntervalMs: 0 }),
    new Session(b, 'server', { keepAliveIntervalMs: 0 }),
  ];
  const entries: Entry[] = [];
  const byId: Map<number, Entry>[] = [new Map(), new Map()];
  sessions.forEach((s, me) => {
    s.onStream = (stream) => {
      // The peer (1 - me) opened it: find its entry by id.
      const e = byId[1 - me]!.get(stream.id)!;
      e.ends[1] = attach(stream);
    };
  });
  const endOf = (i: number, who: 0 | 1): End | undefined =>
    entries[i % Math.max(1, entries.length)]?.ends[who];
  const open = (e: End | undefined) => e !== undefined && e.closes.length === 0;
  let seed = 1;
  for (const o of ops) {
    switch (o.k) {
      case 'open': {
        const s = sessions[o.side]!.open(Uint8Array.of(o.side));
        const e: Entry = { ends: [attach(s), undefined] };
        e.ends[0].written.push(Buffer.of(o.side));
        entries.push(e);
        byId[o.side]!.set(s.id, e);
        break;
      }
      case 'write': {
        const e = endOf(o.i, o.side);
        if (!open(e) || e!.wroteEnd) break;
        const data = pattern(o.n, seed++);
        e!.written.push(data);
        e!.stream.write(data);
        break;
      }
      case 'end': {
        const e = endOf(o.i, o.side);
        if (!open(e)) break;
        e!.wroteEnd = true;
        e!.stream.end();
        break;
      }
      case 'reset': {
        const e = endOf(o.i, o.side);
        if (!open(e)) break;
        e!.resetByUs = true;
        e!.stream.reset();
        break;
      }
      case 'pause':
      case 'resume': {
        const e = endOf(o.i, o.side);
        if (e !== undefined) e.stream[o.k]();
        break;
      }
      case 'wait':
        await tick(o.ms);
        break;
    }
    for (const e of entries) {
      for (const end of e.ends) {
        if (end === undefined) continue;
        assert.ok(end.stream.bufferedBytes <= end.stream.receiveWindow, 'buffered within the window');
        assert.ok(end.stream.receiveWindow >= INITIAL_STREAM_WINDOW, 'the window never shrinks');
        assert.ok(end.stream.receiveWindow <= MAX_STREAM_WINDOW, 'the window stays within maxStreamWindow');
      }
    }
  }
  // Finish everything off: readers resume, writers end.
  // Every SYN was queued at open(), before anything else on its stream, so the acceptor sees them all.
  await until(() => entries.every((e) => e.ends[1] !== undefined), 'every SYN seen');
  for (const e of entries) {
    for (const end of e.ends) {
      if (end === undefined) continue;
      end.stream.resume();
      if (open(end) && !end.wroteEnd) {
        end.wroteEnd = true;
        end.stream.end();
      }
    }
  }
  await until(() => sessions.every((s) => s.streamCount === 0), 'both tables empty', 20_000);
  for (const e of entries) {
    const [x, y] = e.ends;
    assert.ok(y !== undefined, 'the acceptor saw the stream');
    const reset = x.resetByUs || y.resetByUs;
    for (const [me, peer] of [
      [x, y],
      [y, x],
    ] as const) {
      assert.equal(me.closes.length, 1, 'onClose exactly once');
      const got = Buffer.concat(me.received);
      const sent = Buffer.concat(peer.written);
      if (!reset) {
        assert.equal(me.closes[0], undefined);
        assert.equal(me.endCount, 1);
        assert.ok(got.equals(sent), `stream ${me.stream.id}: ${got.length} of ${sent.length} bytes`);
      } else if (me.closes[0] === undefined) {
        // The peer reset after its FIN, and this side had finished cleanly before the RST arrived: then it
        // must have everything (a clean close always means complete data).
        assert.ok(!me.resetByUs && peer.wroteEnd);
        assert.equal(me.endCount, 1);
        assert.ok(got.equals(sent));
      } else {
        assert.ok(isTransportError(me.closes[0], 'STREAM_RESET'), String(me.closes[0]));
        assert.ok(got.equals(sent.subarray(0, got.length)), 'a prefix of what was written');
        assert.ok(me.endCount <= 1);
      }
    }
  }
  for (const s of sessions) s.destroy();
  await Promise.all(sessions.map((s) => s.closed));
}

describe('mux stream model', () => {
  it('any sequence of open/write/end/reset/pause/resume keeps every stream consistent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.constantFrom(1, 7, 1000, 65536),
        run,
      ),
      { numRuns: 80 },
    );
  });
});
