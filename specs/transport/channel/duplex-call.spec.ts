/**
 * openDuplexCall: a DUPLEX stream whose opener writes one record then FIN, without a Sender. The peer
 * sees what openDuplex + write + close give it; a record whose references the reference gate holds back
 * still goes, once the gate lets it; a record that cannot be encoded throws and leaves no stream open.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import type { DuplexEnds } from '../../../src/transport/channel/duplex.js';
import {
  type ChannelSession,
  openDuplexCall,
  Receiver,
  type Sender,
} from '../../../src/transport/channel/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { makePair, waitFor, within } from './pair.js';

interface Ask {
  readonly x: number;
  readonly pad?: string;
  readonly back?: Sender<string>;
}

/** Answer each DUPLEX stream: read its records to the FIN, then reply with them, then FIN. */
function serveEcho(b: ChannelSession, seen: unknown[][]): void {
  b.onDuplex = (ends: DuplexEnds) => {
    const records: unknown[] = [];
    ends.receiver.subscribe({
      next(record) {
        records.push(record);
        const back = (record as Ask).back;
        if (back !== undefined) {
          back.write('nested');
          back.close();
        }
      },
      complete() {
        seen.push(records);
        ends.sender.write((records[0] as Ask | undefined)?.x ?? -1);
        ends.sender.close();
      },
      error: (err: unknown) => ends.sender.error('BAD', String(err)),
    });
  };
}

describe('openDuplexCall', () => {
  it('writes one record and FIN on the opener half; the reply comes back on the Receiver', async () => {
    const p = await makePair('memory', 'client-opens');
    try {
      const seen: unknown[][] = [];
      serveEcho(p.b, seen);
      const replies = await within(
        Promise.all([1, 2, 3].map((x) => lastValueFrom(openDuplexCall<number>(p.a, { x }).pipe(toArray())))),
        5000,
        'the replies',
      );
      assert.deepEqual(replies, [[1], [2], [3]]);
      assert.deepEqual(
        seen.sort((l, r) => (l[0] as Ask).x - (r[0] as Ask).x),
        [[{ x: 1 }], [{ x: 2 }], [{ x: 3 }]],
        'exactly one record, then the end, on each opener half',
      );
      await p.finish();
    } finally {
      await p.teardown();
    }
  });

  it('a record whose references the gate holds back is written once the gate lets it', async () => {
    // The opener's limit of references ahead is 1: the first record (above the stream window, so it
    // waits in the multiplexer) keeps the second one's reference from opening until it has gone.
    const p = await makePair('memory', 'client-opens', { a: { maxUnclaimedStreams: 1 } });
    try {
      const seen: unknown[][] = [];
      serveEcho(p.b, seen);
      const first = new Receiver<string>();
      const second = new Receiver<string>();
      const big = 'x'.repeat(300 * 1024);
      const r1 = openDuplexCall<number>(p.a, { x: 1, pad: big, back: first });
      const ahead = (p.a as unknown as { host: { gate: { referencesAhead: number } } }).host.gate;
      assert.equal(ahead.referencesAhead, 1, 'the first record waits for window with its reference');
      const r2 = openDuplexCall<number>(p.a, { x: 2, back: second });
      const results = await within(
        Promise.all([
          lastValueFrom(r1.pipe(toArray())),
          lastValueFrom(r2.pipe(toArray())),
          lastValueFrom(first.pipe(toArray())),
          lastValueFrom(second.pipe(toArray())),
        ]),
        10_000,
        'the replies',
      );
      assert.deepEqual(results, [[1], [2], ['nested'], ['nested']]);
      assert.equal(seen.length, 2);
      await p.finish();
    } finally {
      await p.teardown();
    }
  });

  it('a record that cannot be encoded throws ENCODE_ERROR and resets the stream it opened', async () => {
    const p = await makePair('memory', 'client-opens');
    try {
      const seen: unknown[][] = [];
      serveEcho(p.b, seen);
      assert.throws(
        () => openDuplexCall(p.a, { x: 1, f: () => 1 }),
        (err: unknown) => isTransportError(err, 'ENCODE_ERROR'),
      );
      await waitFor(() => p.a.mux.streamCount === 0 && p.b.mux.streamCount === 0, 5000, 'no stream left');
      assert.deepEqual(seen, [], 'the peer read no record');
      const reply = await within(lastValueFrom(openDuplexCall<number>(p.a, { x: 7 })), 5000, 'a next call');
      assert.equal(reply, 7);
      await p.finish();
    } finally {
      await p.teardown();
    }
  });
});
