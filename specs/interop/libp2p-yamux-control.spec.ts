/**
 * Interop, control path: our multiplexer against the reference @chainsafe/libp2p-yamux v8 over TCP, both roles.
 *
 * Covers: resets seen across (also mid-transfer), pings both ways with keepalive running, streams refused
 * beyond our limit, destroy() with and without an error, graceful close by the reference peer. Every scenario
 * ends with our `streamCount === 0` and closes both sessions and sockets so the file exits.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { transportError } from '../../src/transport/errors.js';
import { collect, withTimeout } from '../support/libp2p-yamux.js';
import { echo as ourEcho, sendAll as ourSendAll, receive } from './ours.js';
import { connect, enc, MiB, text, theirEnd } from './pair.js';

for (const ourRole of ['client', 'server'] as const) {
  describe(`ours ${ourRole} <-> libp2p-yamux ${ourRole === 'client' ? 'server' : 'client'} over TCP`, () => {
    it('a reset by either side is seen by the other, also in the middle of a transfer', async () => {
      const { ours, theirs, finish } = await connect(ourRole);
      try {
        // We reset.
        const s = ours.open();
        const r = receive(s);
        s.write(enc('about to reset'));
        const t = await theirs.nextStream();
        const tClosed = theirEnd(t);
        s.reset();
        assert.equal(await tClosed, 'reset');
        assert.equal((await r.closed)?.code, 'STREAM_RESET');
        assert.throws(() => s.write(enc('x')));

        // They reset.
        const t2 = await theirs.muxer.createStream();
        t2.send(enc('about to reset too'));
        const s2 = await withTimeout(ours.accept(), 5_000, 'our accept');
        const r2 = receive(s2);
        t2.abort(new Error('reset by the reference peer'));
        assert.equal((await r2.closed)?.code, 'STREAM_RESET');

        // They reset while we are sending 8 MiB: our writer learns it, our table empties.
        const s3 = ours.open();
        const r3 = receive(s3);
        const sending = ourSendAll(s3, randomBytes(8 * MiB)).then(
          () => undefined,
          (e: unknown) => e,
        );
        const t3 = await theirs.nextStream();
        t3.addEventListener('message', () => t3.abort(new Error('enough')), { once: true });
        assert.equal((await r3.closed)?.code, 'STREAM_RESET');
        const sendErr = await withTimeout(sending, 10_000, 'our sender to stop');
        assert.ok(sendErr, 'our sender saw the reset');
      } finally {
        await finish();
      }
    });

    it('pings both ways, and answers their pings while keepalive runs', async () => {
      const { ours, theirs, finish } = await connect(ourRole, {
        keepAliveIntervalMs: 20,
        keepAliveTimeoutMs: 1_000,
      });
      try {
        for (let i = 0; i < 3; i++) {
          assert.ok((await withTimeout(theirs.muxer.ping(), 5_000, 'their ping of us')) >= 0);
          const rtts = await withTimeout(Promise.all([ours.ping(), ours.ping()]), 5_000, 'our pings');
          for (const rtt of rtts) assert.ok(rtt >= 0 && Number.isFinite(rtt));
        }
        await new Promise((resolve) => setTimeout(resolve, 150)); // several keepalive rounds
        assert.equal(ours.isClosed, false, 'their pongs keep our session alive');
        assert.equal(theirs.muxer.status, 'open');
      } finally {
        await finish();
      }
    });

    it('refuses streams beyond our maxConcurrentStreams with a reset the peer sees', async () => {
      const { ours, theirs, finish } = await connect(ourRole, { maxConcurrentStreams: 3 });
      try {
        const accepted: Promise<unknown>[] = [];
        ours.onStream = (s) => accepted.push(ourEcho(s));
        const streams = await Promise.all([0, 1, 2, 3].map(() => theirs.muxer.createStream()));
        const results = await Promise.all(
          streams.map(async (t, i) => {
            const back = collect(t);
            try {
              t.send(enc(`n${i}`));
              await t.close();
              return text(await back);
            } catch (e) {
              return (e as Error).name;
            }
          }),
        );
        assert.deepEqual(results.slice(0, 3), ['n0', 'n1', 'n2']);
        assert.equal(results[3], 'StreamResetError');
        assert.equal(accepted.length, 3);
        await Promise.all(accepted);
      } finally {
        await finish();
      }
    });

    // destroy() without an error must still reset the peer's streams (mux-bugs.md #1, fixed in a0b7509).
    for (const withError of [false, true]) {
      const title = `destroy(${withError ? 'INTERNAL_ERROR' : ''}) on our side resets the reference peer's streams`;
      it(title, async () => {
        const { ours, theirs, finish } = await connect(ourRole);
        try {
          const s = ours.open();
          const r = receive(s);
          s.write(enc('doomed'));
          const t = await theirs.nextStream();
          const tClosed = theirEnd(t);
          ours.destroy(
            withError ? transportError('INTERNAL_ERROR', 'spec: destroy with an error') : undefined,
          );
          assert.notEqual((await r.closed)?.code, undefined, 'our stream closes with an error');
          assert.notEqual(await tClosed, 'closed', 'their stream ends with an error, not cleanly');
          await withTimeout(ours.closed, 5_000, 'our session to end');
          assert.equal(ours.streamCount, 0);
          assert.notEqual(theirs.muxer.status, 'open');
        } finally {
          await finish().catch(() => {});
        }
      });
    }

    it('ends when the reference peer closes gracefully', async () => {
      const { ours, theirs, finish } = await connect(ourRole);
      try {
        const s = ours.open();
        const r = receive(s);
        s.write(enc('bye'));
        s.end();
        const t = await theirs.nextStream();
        assert.equal(text(await collect(t)), 'bye');
        await t.close();
        assert.equal(await r.closed, undefined);
        await theirs.close();
        await withTimeout(ours.closed, 5_000, 'our session to end after their GoAway and EOF');
        assert.equal(ours.isClosed, true);
        assert.equal(ours.streamCount, 0);
        assert.throws(() => ours.open());
      } finally {
        await finish().catch(() => {});
      }
    });
  });
}
