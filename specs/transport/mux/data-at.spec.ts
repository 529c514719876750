/**
 * StreamListener.onDataAt: a listener that takes offsets gets exactly the bytes onData would have got, in
 * order, whether they go straight to it or wait in the stream's buffer first (paused, or arriving before
 * listen()), and never sees bytes outside its range.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stream, StreamListener } from '../../../src/transport/mux/index.js';
import { pattern, sessionPair, TRANSPORTS, tick, until, writeAll } from './harness.js';

/** A listener that copies each range it is given, and checks the range lies within the buffer. */
function rangeReader(): { listener: StreamListener; bytes: () => Buffer; ended: () => boolean } {
  const got: Buffer[] = [];
  let ended = false;
  return {
    listener: {
      onData() {
        assert.fail('onData is not called when onDataAt is present');
      },
      onDataAt(buf, start, end) {
        assert.ok(start >= 0 && start < end && end <= buf.length, `range ${start}..${end} of ${buf.length}`);
        got.push(Buffer.from(buf.subarray(start, end)));
      },
      onEnd() {
        ended = true;
      },
      onClose() {},
    },
    bytes: () => Buffer.concat(got),
    ended: () => ended,
  };
}

for (const transport of TRANSPORTS) {
  describe(`mux onDataAt over ${transport}`, () => {
    it('many small writes and a large one arrive byte-exact, straight and after a pause', async () => {
      const p = await sessionPair(transport);
      try {
        const r = rangeReader();
        let inbound: Stream | undefined;
        p.acceptor.onStream = (s) => {
          inbound = s;
          s.listen(r.listener);
        };
        const s = p.opener.open(Uint8Array.of(7));
        const small = pattern(3000, 1);
        for (let i = 0; i < small.length; i += 30) s.write(small.subarray(i, i + 30));
        await until(() => r.bytes().length === 1 + small.length, 'small writes delivered');
        // Paused: what arrives is buffered by the stream, then handed over on resume.
        inbound!.pause();
        const large = pattern(200_000, 2);
        await writeAll(s, large, 16 * 1024);
        await tick(50);
        assert.equal(r.bytes().length, 1 + small.length, 'nothing delivered while paused');
        inbound!.resume();
        await until(() => r.ended(), 'end delivered after the data');
        assert.ok(r.bytes().equals(Buffer.concat([Uint8Array.of(7), small, large])), 'byte-exact, in order');
        inbound!.end();
      } finally {
        await p.done();
      }
    });

    it('data that arrived before listen() is handed over in order', async () => {
      const p = await sessionPair(transport);
      try {
        let inbound: Stream | undefined;
        p.acceptor.onStream = (s) => {
          inbound = s;
        };
        const s = p.opener.open(Uint8Array.of(1));
        s.write(pattern(500, 3));
        s.end();
        await until(() => inbound !== undefined && inbound.bufferedBytes === 501, 'buffered before listen');
        const r = rangeReader();
        inbound!.listen(r.listener);
        await until(() => r.ended(), 'end delivered');
        assert.ok(r.bytes().equals(Buffer.concat([Uint8Array.of(1), pattern(500, 3)])));
        inbound!.end();
      } finally {
        await p.done();
      }
    });
  });
}
