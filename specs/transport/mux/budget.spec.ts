/**
 * A session's memory across all its streams, over real TCP (issue 11, finding 1: a client that made many
 * calls without reading its socket made the server hold windows x streams).
 *
 * Inbound: when the bytes received and not consumed reach `maxBufferedBytes`, the session stops reading
 * its socket, so TCP pushes back on the peer; the bytes held stop at about the budget; reading resumes
 * when consumers take them; another session in the same process is not affected; keepalive does not time
 * out the session while it does not read. Outbound: `queuedBytes` counts what waits to be written, and
 * `onQueueBelow` calls back when it falls to a low-water mark.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Flag, FrameType } from '../../../src/transport/mux/frame.js';
import type { Session } from '../../../src/transport/mux/session.js';
import type { Stream } from '../../../src/transport/mux/stream.js';
import { collect, echo, pattern, rawPair, sessionPair, tick, until, withTimeout } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Bytes held by a session's streams, summed from the streams themselves. */
const held = (s: Session): number => s.listStreams().reduce((n, x) => n + x.bufferedBytes, 0);

/** An acceptor whose consumers do not read: every inbound stream is paused; counts what they get later. */
function hoard(session: Session): { streams: Stream[]; received: () => number } {
  const streams: Stream[] = [];
  let received = 0;
  session.onStream = (s) => {
    s.pause();
    s.listen({
      onData: (c) => {
        received += c.length;
      },
      onEnd: () => s.end(),
      onClose() {},
    });
    streams.push(s);
  };
  return { streams, received: () => received };
}

describe('mux session budgets over TCP', () => {
  it('stops reading at maxBufferedBytes, pushes back on the peer, and reads on once consumers take the bytes', async () => {
    const budget = 2 * MiB;
    const streams = 128;
    const perStream = 256 * KiB; // a whole window each: 32 MiB in all, far beyond the budget
    const p = await sessionPair('tcp', 'client opens', {}, { maxBufferedBytes: budget });
    const other = await sessionPair('tcp');
    try {
      const acceptor = hoard(p.server);
      const writes = Array.from({ length: streams }, () => {
        const s = p.client.open(Uint8Array.of(1));
        s.write(pattern(perStream - 1));
        collect(s).catch(() => {});
        return s;
      });
      await until(() => held(p.server) >= budget, 'the budget reached', 10_000);
      await tick(300); // anything still coming would show up now
      const bytes = held(p.server);
      assert.ok(bytes <= budget + 64 * KiB, `held ${bytes}: the budget plus at most one socket read`);
      assert.equal(p.server.readPaused, true);
      assert.equal(p.server.bufferedBytes, bytes, 'bufferedBytes is what the streams hold');
      assert.ok(p.client.queuedBytes > 0, 'TCP pushed back: the client still holds what it wrote');
      assert.equal(p.client.readPaused, false);

      // Another session of the process carries on meanwhile.
      echo(other.acceptor);
      const s = other.opener.open();
      const got = collect(s);
      s.write(pattern(MiB));
      s.end();
      assert.equal((await got).data.length, MiB);
      assert.equal(other.server.readPaused, false);

      // Consumers take their bytes: reading resumes and everything arrives.
      assert.equal(acceptor.streams.length, p.server.streamCount);
      for (const w of writes) w.end();
      const resumeAll = (): void => {
        for (const a of acceptor.streams) a.resume();
      };
      resumeAll();
      await until(
        () => {
          resumeAll(); // streams accepted after the first resume start paused too
          return acceptor.received() === streams * perStream;
        },
        'every byte delivered',
        20_000,
      );
      assert.equal(p.server.readPaused, false);
      assert.equal(p.server.bufferedBytes, 0);
      await until(() => p.server.streamCount === 0 && p.client.streamCount === 0, 'every stream closed');
    } finally {
      await p.done();
      await other.done();
    }
  });

  it('keepalive does not time a session out while it does not read', async () => {
    const p = await sessionPair(
      'tcp',
      'client opens',
      {},
      { maxBufferedBytes: 64 * KiB, keepAliveIntervalMs: 10, keepAliveTimeoutMs: 40 },
    );
    try {
      const acceptor = hoard(p.server);
      const s = p.client.open(Uint8Array.of(1));
      s.write(pattern(200 * KiB));
      await until(() => p.server.readPaused, 'the server to stop reading');
      await tick(300);
      assert.equal(p.server.isClosed, false, 'no KEEPALIVE_TIMEOUT while reading is stopped');
      s.end();
      for (const a of acceptor.streams) a.resume();
      await until(() => acceptor.received() === 200 * KiB + 1, 'delivered');
      assert.equal(p.server.readPaused, false);
      assert.ok((await withTimeout(p.server.ping(), 5_000, 'ping')) >= 0);
      assert.equal(p.server.isClosed, false);
    } finally {
      await p.done();
    }
  });

  it('queuedBytes counts what a peer that does not read leaves queued; onQueueBelow calls back when it falls', async () => {
    const { session, raw, done } = await rawPair('tcp', 'server');
    try {
      raw.socket.pause(); // the peer reads nothing
      let answered = 0;
      session.onStream = (s) =>
        s.listen({
          onData() {},
          onEnd: () => {
            s.write(pattern(200 * KiB));
            s.end();
            answered++;
          },
          onClose() {},
        });
      for (let i = 0; i < 100; i++) raw.send(FrameType.WindowUpdate, Flag.SYN | Flag.FIN, 2 * i + 1, 0);
      await until(() => answered === 100, 'a hundred answers written');
      await tick(100);
      const queued = session.queuedBytes;
      assert.ok(queued > 4 * MiB, `queued ${queued}`);
      let called = 0;
      const cancelled = session.onQueueBelow(64 * KiB, () => {
        throw new Error('cancelled: never called');
      });
      cancelled();
      session.onQueueBelow(64 * KiB, () => {
        called++;
      });
      let high = 0;
      session.onQueueBelow(Number.MAX_SAFE_INTEGER, () => {
        high++;
      });
      await tick(50);
      assert.equal(called, 0, 'not while the peer reads nothing');
      assert.equal(high, 1, 'at once when already at or below the mark');
      raw.socket.resume();
      await until(() => called === 1, 'onQueueBelow', 10_000);
      assert.ok(session.queuedBytes <= 64 * KiB);
      await until(() => session.streamCount === 0, 'answers out');
      await tick(20);
      assert.equal(called, 1, 'once');
      session.onQueueBelow(0, () => {
        called++;
      });
      await until(() => called === 2, 'nothing queued: at once');
    } finally {
      await done();
    }
  });

  it('a listener still waiting when the session ends is never called', async () => {
    const { session, raw, done } = await rawPair('tcp', 'client');
    raw.socket.pause();
    const s = session.open(Uint8Array.of(1));
    s.write(pattern(250 * KiB));
    let called = false;
    session.onQueueBelow(0, () => {
      called = true;
    });
    session.destroy();
    await tick(50);
    assert.equal(called, false);
    assert.equal(session.queuedBytes >= 0, true);
    session.onQueueBelow(Number.MAX_SAFE_INTEGER, () => {
      called = true;
    });
    await tick(10);
    assert.equal(called, false, 'not on an ended session either');
    raw.socket.resume();
    await done();
  });
});
