/**
 * What an idle stream costs: heap bytes per stream end, for streams that were opened, carried a message
 * each way and now wait (their receive windows were not grown, and nothing is buffered). The bound is
 * the target, 2 KiB per idle stream; measured about 0.5 KiB. A window only costs memory while
 * data sits in it, so thousands of idle streams must stay cheap whatever their windows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Stream, StreamListener } from '../../../src/transport/mux/index.js';
import { sessionPair, tick, until } from './harness.js';

const IDLE_STREAM_BYTES = 2048;
const STREAMS = 2000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await tick(10);
    gc();
  }
  return process.memoryUsage().heapUsed;
}

describe('mux memory per idle stream', () => {
  it(`an idle stream costs at most ${IDLE_STREAM_BYTES} bytes of heap on each side`, async (t) => {
    const p = await sessionPair('memory');
    let echoed = 0;
    // One listener object for every opened stream; the acceptor's per-stream echo closures are counted
    // too, so the measure errs high.
    const quiet: StreamListener = { onData() {}, onEnd() {}, onClose() {} };
    p.acceptor.onStream = (s) =>
      s.listen({
        onData: (c) => {
          s.write(c);
        },
        onEnd() {},
        onClose() {},
      });
    const before = await settledHeap();
    const streams: Stream[] = [];
    const mine: StreamListener = { ...quiet, onData: () => void echoed++ };
    for (let i = 0; i < STREAMS; i++) {
      const s = p.opener.open(Uint8Array.of(1));
      s.listen(mine);
      streams.push(s);
    }
    await until(() => echoed === STREAMS, 'every stream echoed', 20_000);
    const after = await settledHeap();
    assert.equal(p.opener.streamCount, STREAMS);
    assert.equal(p.acceptor.streamCount, STREAMS);
    // Both ends live in this process; the array holding the streams costs 8 bytes each.
    const perEnd = (after - before - STREAMS * 8) / (2 * STREAMS);
    assert.ok(perEnd > 0 && perEnd <= IDLE_STREAM_BYTES, `${perEnd.toFixed(0)} bytes per idle stream end`);
    t.diagnostic(`${perEnd.toFixed(0)} bytes of heap per idle stream end`);
    for (const s of streams) s.reset();
    await p.done();
  });
});
