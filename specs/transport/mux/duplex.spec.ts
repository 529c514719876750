/**
 * toDuplex: a Node Duplex over a multiplexer stream, with backpressure both ways, FIN on end(), RST on
 * destroy(), and the stream's TransportError on a reset.
 */
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { isTransportError } from '../../../src/transport/errors.js';
import { INITIAL_STREAM_WINDOW } from '../../../src/transport/mux/frame.js';
import { toDuplex } from '../../../src/transport/mux/index.js';
import { collect, pattern, sessionPair, sha256, TRANSPORTS, tick, until, withTimeout } from './harness.js';

for (const transport of TRANSPORTS) {
  describe(`mux toDuplex over ${transport}`, () => {
    it('pipes a large payload through, byte-exact, and ends with FIN both ways', async () => {
      const p = await sessionPair(transport);
      const data = pattern(3 * 1024 * 1024 + 17, 5);
      // The acceptor echoes through a pipeline of Duplexes.
      p.acceptor.onStream = (s) => {
        const d = toDuplex(s);
        void pipeline(d, d).catch(() => {});
      };
      const d = toDuplex(p.opener.open());
      const out: Buffer[] = [];
      await withTimeout(
        Promise.all([
          pipeline(Readable.from(chunks(data, 50_000)), d),
          pipeline(
            d,
            new Writable({
              write(c: Buffer, _e, cb) {
                out.push(c);
                cb();
              },
            }),
          ),
        ]),
        30_000,
        'pipelines',
      );
      assert.equal(sha256(Buffer.concat(out)), sha256(data));
      await until(() => p.opener.streamCount === 0 && p.acceptor.streamCount === 0, 'tables empty');
      await p.done();
    });

    it('a reader that does not read stops the writer: write() returns false and the peer holds at most a window', async () => {
      const p = await sessionPair(transport, 'client opens', { writeHighWaterMark: 32 * 1024 });
      const accepted = p.acceptor.accept();
      const d = toDuplex(p.opener.open());
      const s = await withTimeout(accepted, 5_000, 'accept');
      const r = toDuplex(s); // never read from: Node's buffer fills, the stream pauses
      let writes = 0;
      let ok = true;
      while (ok && writes < 10_000) {
        ok = d.write(pattern(16 * 1024, writes + 1));
        writes++;
      }
      assert.equal(ok, false, 'write() returned false');
      await tick(100);
      const held = r.readableLength + s.bufferedBytes;
      assert.equal(s.receiveWindow, INITIAL_STREAM_WINDOW, 'a reader that stops does not grow its window');
      assert.ok(held <= s.receiveWindow + 64 * 1024, `reader holds ${held} bytes`);
      let total = 0;
      r.on('data', (c: Buffer) => {
        total += c.length;
      });
      d.end();
      await withTimeout(new Promise((resolve) => r.on('end', resolve)), 10_000, 'end');
      assert.equal(total, writes * 16 * 1024);
      r.end();
      await until(() => p.opener.streamCount === 0 && p.acceptor.streamCount === 0, 'tables empty');
      await p.done();
    });

    it('destroy() resets the stream; a peer reset destroys the Duplex with STREAM_RESET', async () => {
      const p = await sessionPair(transport);
      const accepted = p.acceptor.accept();
      const d = toDuplex(p.opener.open(Uint8Array.of(1)));
      const s = await withTimeout(accepted, 5_000, 'accept');
      const theirs = collect(s);
      d.destroy();
      assert.ok(isTransportError((await theirs).err, 'STREAM_RESET'));

      const accepted2 = p.acceptor.accept();
      const d2 = toDuplex(p.opener.open(Uint8Array.of(2)));
      const errored = new Promise<unknown>((resolve) => d2.on('error', resolve));
      const s2 = await withTimeout(accepted2, 5_000, 'accept');
      s2.reset();
      const err = await withTimeout(errored, 5_000, 'error event');
      assert.ok(isTransportError(err, 'STREAM_RESET'));
      await until(() => p.opener.streamCount === 0 && p.acceptor.streamCount === 0, 'tables empty');
      await p.done();
    });
  });
}

function* chunks(data: Buffer, size: number): Generator<Buffer> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}
