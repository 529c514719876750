/**
 * Interop, data path: our multiplexer (src/transport/mux) against the reference @chainsafe/libp2p-yamux v8,
 * over real TCP sockets on 127.0.0.1, in both roles (ours client / theirs server, and the reverse).
 *
 * Covers: streams opened from each side (with and without a SYN preface, empty ones), >= 8 MiB echoed
 * byte-exact on concurrent streams in both directions (also with a larger stream window), half-close in both
 * orders, flow control while a receiver is paused (also after our window grew by auto-tuning), 200 exchanges
 * at once. Every scenario ends with our `streamCount === 0` and closes both sessions and sockets so the file
 * exits.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { collect, echo as theirEcho, sendAll as theirSendAll, withTimeout } from '../support/libp2p-yamux.js';
import { echo as ourEcho, sendAll as ourSendAll, receive, sha256 } from './ours.js';
import { connect, enc, MiB, text, theirEnd } from './pair.js';

for (const ourRole of ['client', 'server'] as const) {
  const ourParity = ourRole === 'client' ? 1 : 0;

  describe(`ours ${ourRole} <-> libp2p-yamux ${ourRole === 'client' ? 'server' : 'client'} over TCP`, () => {
    it('opens streams from each side, with and without a SYN preface', async () => {
      const { ours, theirs, finish } = await connect(ourRole);
      try {
        for (const preface of [undefined, enc('preface:')]) {
          const s = preface ? ours.open(preface) : ours.open();
          assert.equal(s.id % 2, ourParity);
          const back = receive(s);
          s.write(enc('hello'));
          s.end();
          const t = await theirs.nextStream();
          assert.equal(t.streamId, s.id);
          assert.equal(text(await collect(t)), `${preface ? 'preface:' : ''}hello`);
          t.send(enc('world'));
          const tClosed = theirEnd(t);
          await t.close();
          assert.equal(text(await back.data), 'world');
          assert.equal(await back.closed, undefined);
          assert.equal(await tClosed, 'closed');
        }

        const t = await theirs.muxer.createStream();
        const tBack = collect(t);
        t.send(enc('ping?'));
        await t.close();
        const s = await withTimeout(ours.accept(), 5_000, 'our accept');
        assert.equal(s.id, t.streamId);
        assert.equal(s.id % 2, 1 - ourParity);
        const r = receive(s);
        assert.equal(text(await r.data), 'ping?');
        s.write(enc('pong!'));
        s.end();
        assert.equal(text(await tBack), 'pong!');
        assert.equal(await r.closed, undefined);
      } finally {
        await finish();
      }
    });

    it('opens, resets and ends empty streams from each side', async () => {
      const { ours, theirs, finish } = await connect(ourRole);
      try {
        // Ours: SYN and FIN with no data; SYN and RST in the same batch.
        const empty = ours.open();
        const emptyBack = receive(empty);
        empty.end();
        const t = await theirs.nextStream();
        assert.equal((await collect(t)).length, 0);
        await t.close();
        assert.deepEqual(await emptyBack.data, []);
        assert.equal(await emptyBack.closed, undefined);
        const doomed = ours.open();
        const doomedBack = receive(doomed);
        doomed.reset();
        assert.equal((await doomedBack.closed)?.code, 'STREAM_RESET');
        const tDoomed = await theirs.nextStream();
        assert.equal(await theirEnd(tDoomed), 'reset');

        // Theirs: opened and closed at once (SYN then FIN), and opened then aborted at once.
        const t2 = await theirs.muxer.createStream();
        const t2Back = collect(t2);
        await t2.close();
        const s2 = await withTimeout(ours.accept(), 5_000, 'our accept');
        const r2 = receive(s2);
        assert.deepEqual(await r2.data, []);
        s2.end();
        assert.equal((await t2Back).length, 0);
        assert.equal(await r2.closed, undefined);
        const t3 = await theirs.muxer.createStream();
        t3.abort(new Error('never mind'));
        // Their SYN is sent in a microtask, their RST right after: we may see the stream, reset, or nothing.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const r3 = ours.streamCount > 0 ? receive(await ours.accept()) : undefined;
        if (r3) assert.equal((await r3.closed)?.code, 'STREAM_RESET');
      } finally {
        await finish();
      }
    });

    for (const window of [undefined, 4 * MiB]) {
      const label = window ? `, our stream window ${window / MiB} MiB` : '';
      it(`echoes 8 MiB byte-exact on 4 concurrent streams opened by us${label}`, async () => {
        const { ours, theirs, finish } = await connect(ourRole, window ? { streamWindow: window } : {});
        try {
          const payloads = [0, 1, 2, 3].map(() => randomBytes(2 * MiB));
          const runs = payloads.map(async (data, i) => {
            const s = ours.open();
            const r = receive(s);
            await ourSendAll(s, data, [65_536, 1_000 + i, 200_000, 7]);
            s.end();
            assert.equal(sha256(...(await r.data)), sha256(data), `stream ${s.id} echoed byte-exact`);
            assert.equal(await r.closed, undefined);
          });
          for (let i = 0; i < payloads.length; i++) theirEcho(await theirs.nextStream());
          await Promise.all(runs);
        } finally {
          await finish();
        }
      });

      it(`echoes 8 MiB byte-exact on 4 concurrent streams opened by them${label}`, async () => {
        const { ours, theirs, finish } = await connect(ourRole, window ? { streamWindow: window } : {});
        try {
          const ourSides: Promise<unknown>[] = [];
          ours.onStream = (s) => ourSides.push(ourEcho(s));
          const runs = [0, 1, 2, 3].map(async () => {
            const data = randomBytes(2 * MiB);
            const t = await theirs.muxer.createStream();
            const back = collect(t);
            await theirSendAll(t, data, 100_000);
            await t.close();
            assert.equal(sha256(...(await back)), sha256(data), `stream ${t.streamId} echoed byte-exact`);
          });
          await Promise.all(runs);
          assert.deepEqual(await Promise.all(ourSides), [undefined, undefined, undefined, undefined]);
        } finally {
          await finish();
        }
      });
    }

    it('half-close: we end first, they still send 1 MiB, then end', async () => {
      const { ours, theirs, finish } = await connect(ourRole);
      try {
        const s = ours.open();
        const r = receive(s);
        s.write(enc('last words'));
        s.end();
        assert.throws(() => s.write(enc('x')), { code: 'STREAM_CLOSED' });
        const t = await theirs.nextStream();
        assert.equal(text(await collect(t)), 'last words');
        const data = randomBytes(MiB);
        await theirSendAll(t, data, 50_000);
        await t.close();
        assert.equal(sha256(...(await r.data)), sha256(data));
        assert.equal(await r.closed, undefined);
      } finally {
        await finish();
      }
    });

    it('half-close: they end first, we still send 1 MiB, then end', async () => {
      const { ours, theirs, finish } = await connect(ourRole);
      try {
        const t = await theirs.muxer.createStream();
        const back = collect(t);
        const tClosed = theirEnd(t);
        t.send(enc('over to you'));
        await t.close();
        const s = await withTimeout(ours.accept(), 5_000, 'our accept');
        const r = receive(s);
        assert.equal(text(await r.data), 'over to you');
        const data = randomBytes(MiB);
        await ourSendAll(s, data, [30_000]);
        s.end();
        assert.equal(sha256(...(await back)), sha256(data));
        assert.equal(await r.closed, undefined);
        assert.equal(await tClosed, 'closed');
      } finally {
        await finish();
      }
    });

    it('flow control holds both ways while the receiver is paused', async () => {
      const { ours, theirs, finish } = await connect(ourRole);
      try {
        // They pause: our sender stops at their window, then finishes after they resume.
        const data = randomBytes(2 * MiB);
        const s = ours.open();
        const r = receive(s);
        const t = await (async () => {
          s.write(data.subarray(0, 1));
          const t = await theirs.nextStream();
          t.pause();
          return t;
        })();
        const sending = ourSendAll(s, data.subarray(1));
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.ok(s.queuedBytes > 0, 'our writer waits for their window while they are paused');
        const got = collect(t);
        t.resume();
        await sending;
        s.end();
        assert.equal(sha256(...(await got)), sha256(data));
        await t.close();
        assert.equal(await r.closed, undefined);

        // We pause: their sender stops at our window (no WINDOW_EXCEEDED), then finishes after we resume.
        const t2 = await theirs.muxer.createStream();
        t2.send(new Uint8Array([1]));
        const s2 = await withTimeout(ours.accept(), 5_000, 'our accept');
        s2.pause();
        const r2 = receive(s2);
        const their = theirSendAll(t2, data, 64 * 1024);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.ok(
          s2.bufferedBytes <= s2.receiveWindow,
          `we buffer at most our window (${s2.bufferedBytes} of ${s2.receiveWindow})`,
        );
        assert.ok(s2.bufferedBytes > 0, 'their data arrived');
        assert.ok(t2.writeBufferLength > 0, 'their writer waits for our window while we are paused');
        s2.resume();
        await their;
        await t2.close();
        assert.equal(sha256(...(await r2.data)), sha256(new Uint8Array([1]), data));
        s2.end();
        assert.equal(await r2.closed, undefined);
        assert.equal(ours.isClosed, false);
      } finally {
        await finish();
      }
    });

    it('flow control holds against a window grown by auto-tuning', async () => {
      const { ours, theirs, finish } = await connect(ourRole);
      try {
        // We read fast until our window has grown (they answer the tuner's pings), then stop reading:
        // they must stop at the grown window (no WINDOW_EXCEEDED), and finish after we resume.
        const data = randomBytes(32 * MiB);
        const t = await theirs.muxer.createStream();
        const their = theirSendAll(t, data, 64 * 1024);
        const s = await withTimeout(ours.accept(), 5_000, 'our accept');
        const chunks: Uint8Array[] = [];
        let grown = false;
        const ended = new Promise<void>((resolve, reject) =>
          s.listen({
            onData(c) {
              chunks.push(c);
              if (!grown && s.receiveWindow >= 2 * MiB) {
                grown = true;
                s.pause();
              }
            },
            onEnd: resolve,
            onClose: (err) => (err ? reject(err) : resolve()),
          }),
        );
        await withTimeout(
          (async () => {
            while (!grown) await new Promise((resolve) => setTimeout(resolve, 5));
          })(),
          10_000,
          'our window to grow to 2 MiB',
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.ok(s.bufferedBytes > 0, 'their data arrived while we were paused');
        assert.ok(
          s.bufferedBytes <= s.receiveWindow,
          `we buffer at most our grown window (${s.bufferedBytes} of ${s.receiveWindow})`,
        );
        assert.ok(t.writeBufferLength > 0, 'their writer waits for our window');
        assert.equal(ours.isClosed, false);
        s.resume();
        await their;
        await t.close();
        await withTimeout(ended, 30_000, 'end of our stream');
        assert.equal(sha256(...chunks), sha256(data));
        s.end();
      } finally {
        await finish();
      }
    });

    it('carries 200 short exchanges opened from each side at once', async () => {
      const { ours, theirs, finish } = await connect(ourRole);
      try {
        const n = 200;
        const ourAccepted: Promise<unknown>[] = [];
        ours.onStream = (s) => ourAccepted.push(ourEcho(s));
        theirs.muxer.addEventListener('stream', (e) => theirEcho(e.detail));
        const fromUs = Array.from({ length: n }, async (_, i) => {
          const s = ours.open(enc(`us ${i}`));
          const r = receive(s);
          s.end();
          assert.equal(text(await r.data), `us ${i}`);
          assert.equal(await r.closed, undefined);
        });
        const fromThem = Array.from({ length: n }, async (_, i) => {
          const t = await theirs.muxer.createStream();
          const back = collect(t);
          t.send(enc(`them ${i}`));
          await t.close();
          assert.equal(text(await back), `them ${i}`);
        });
        await Promise.all([...fromUs, ...fromThem]);
        assert.equal(ourAccepted.length, n);
        assert.ok((await Promise.all(ourAccepted)).every((e) => e === undefined));
      } finally {
        await finish();
      }
    });
  });
}
