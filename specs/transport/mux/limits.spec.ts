/**
 * Every receive limit of the multiplexer, hit on purpose: concurrent streams (both directions), the
 * accept backlog, the frame length, the stream window (by a hand-written peer that ignores it) and the
 * ping answers queued while our socket is congested (MAX_QUEUED_PONGS). Going
 * over a limit resets that stream or ends the session with a typed error and the matching GoAway code,
 * never an exception.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTransportError } from '../../../src/transport/errors.js';
import { Flag, FrameType, GoAwayCode, INITIAL_STREAM_WINDOW } from '../../../src/transport/mux/frame.js';
import { MAX_QUEUED_PONGS } from '../../../src/transport/mux/outbox.js';
import {
  collect,
  DIRECTIONS,
  pattern,
  type RawPeer,
  rawPair,
  sessionPair,
  TRANSPORTS,
  tick,
  until,
  withTimeout,
} from './harness.js';

const isRst = (id: number) => (f: { type: number; flags: number; streamId: number }) =>
  f.type === FrameType.WindowUpdate && (f.flags & Flag.RST) !== 0 && f.streamId === id;
const isGoAway = (code: number) => (f: { type: number; length: number }) =>
  f.type === FrameType.GoAway && f.length === code;

/** The raw peer (client role, odd ids) opens stream `id` with a WindowUpdate SYN. */
const syn = (raw: RawPeer, id: number) => raw.send(FrameType.WindowUpdate, Flag.SYN, id, 0);

for (const transport of TRANSPORTS) {
  describe(`mux limits over ${transport}`, () => {
    for (const direction of DIRECTIONS) {
      it(`maxConcurrentStreams, ${direction}: open() beyond throws STREAM_LIMIT; the acceptor resets a SYN beyond`, async () => {
        const p = await sessionPair(
          transport,
          direction,
          { maxConcurrentStreams: 3 },
          { maxConcurrentStreams: 2 },
        );
        p.acceptor.onStream = (s) => s.listen({ onData() {}, onEnd() {}, onClose() {} });
        const mine = [p.opener.open(), p.opener.open(), p.opener.open()];
        assert.throws(
          () => p.opener.open(),
          (e) => isTransportError(e, 'STREAM_LIMIT'),
        );
        const results = mine.map((s) => collect(s));
        // The acceptor takes two; the third is refused with RST.
        const third = await results[2]!;
        assert.ok(isTransportError(third.err, 'STREAM_RESET'), String(third.err));
        assert.equal(p.acceptor.streamCount, 2);
        // A closed slot can be used again.
        const again = p.opener.open();
        assert.equal(p.opener.streamCount, 3);
        again.reset();
        for (const s of mine) s.reset();
        await Promise.all(results);
        await until(() => p.acceptor.streamCount === 0, 'acceptor table empty');
        await p.done();
      });
    }

    it('maxConcurrentStreams counts both directions together', async () => {
      const { session, raw, done } = await rawPair(transport, 'server', { maxConcurrentStreams: 2 });
      session.onStream = (s) => s.listen({ onData() {}, onEnd() {}, onClose() {} });
      const own = session.open();
      syn(raw, 1);
      syn(raw, 3);
      await raw.waitFor(isRst(3), 'RST for stream 3');
      assert.equal(session.streamCount, 2);
      assert.equal(
        raw.frames.some((f) => isRst(1)(f)),
        false,
      );
      assert.throws(
        () => session.open(),
        (e) => isTransportError(e, 'STREAM_LIMIT'),
      );
      own.reset();
      syn(raw, 5);
      await until(() => session.streamCount === 2, 'stream 5 taken');
      assert.equal(session.isClosed, false);
      await done();
    });

    it('maxAcceptBacklog: SYNs beyond the backlog are reset (ACCEPT_BACKLOG); accepted ones free room', async () => {
      const { session, raw, done } = await rawPair(transport, 'server', { maxAcceptBacklog: 2 });
      syn(raw, 1);
      syn(raw, 3);
      syn(raw, 5);
      await raw.waitFor(isRst(5), 'RST for stream 5');
      assert.equal(session.streamCount, 2);
      const first = await session.accept();
      assert.equal(first.id, 1);
      syn(raw, 7);
      await until(() => session.streamCount === 3, 'stream 7 in the backlog');
      assert.equal((await session.accept()).id, 3);
      assert.equal((await session.accept()).id, 7);
      // A waiting accept() takes a SYN even with a zero-length backlog.
      const waiting = session.accept();
      syn(raw, 9);
      assert.equal((await withTimeout(waiting, 5_000, 'accept')).id, 9);
      assert.equal(session.isClosed, false);
      await done();
    });

    it('a stream reset while in the backlog leaves it', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      syn(raw, 1);
      syn(raw, 3);
      await until(() => session.streamCount === 2, 'two in the backlog');
      raw.send(FrameType.WindowUpdate, Flag.RST, 1, 0);
      await until(() => session.streamCount === 1, 'stream 1 left');
      assert.equal((await session.accept()).id, 3);
      await done();
    });

    it('maxFrameLength: a Data header above it ends the session with GoAway(1), FRAME_TOO_LARGE, before the payload', async () => {
      const { session, raw, done } = await rawPair(transport, 'server', {
        maxFrameLength: INITIAL_STREAM_WINDOW,
      });
      syn(raw, 1);
      // Only the header: the session must judge it before waiting for any payload byte.
      raw.send(FrameType.Data, 0, 1, INITIAL_STREAM_WINDOW + 1);
      await raw.waitFor(isGoAway(GoAwayCode.ProtocolError), 'GoAway(1)');
      const err = await withTimeout(session.closed, 5_000, 'session closed');
      assert.ok(isTransportError(err, 'FRAME_TOO_LARGE'), String(err));
      await done();
    });

    it('window: a peer that ignores it gets GoAway(1) and the session closes with WINDOW_EXCEEDED', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      let stream: ReturnType<typeof session.open> | undefined;
      session.onStream = (s) => {
        stream = s;
        s.pause(); // the consumer takes nothing: no credit goes back
      };
      const closes: unknown[] = [];
      syn(raw, 1);
      await until(() => stream !== undefined, 'stream 1');
      stream!.listen({ onData() {}, onEnd() {}, onClose: (e) => void closes.push(e) });
      // Exactly the window, in two frames: allowed.
      raw.send(FrameType.Data, 0, 1, INITIAL_STREAM_WINDOW - 1000, pattern(INITIAL_STREAM_WINDOW - 1000));
      raw.send(FrameType.Data, 0, 1, 1000, pattern(1000));
      await until(() => stream!.bufferedBytes === INITIAL_STREAM_WINDOW, 'a full window buffered');
      await tick(30);
      assert.equal(session.isClosed, false);
      assert.equal(
        raw.frames.some((f) => f.type === FrameType.WindowUpdate && f.length > 0),
        false,
        'no credit while paused',
      );
      // One byte more.
      raw.send(FrameType.Data, 0, 1, 1, Uint8Array.of(1));
      await raw.waitFor(isGoAway(GoAwayCode.ProtocolError), 'GoAway(1)');
      const err = await withTimeout(session.closed, 5_000, 'session closed');
      assert.ok(isTransportError(err, 'WINDOW_EXCEEDED'), String(err));
      assert.equal(closes.length, 1);
      assert.ok(isTransportError(closes[0], 'WINDOW_EXCEEDED'));
      await done();
    });

    it('a peer that stops reading: socket writes stop until drain, output stays within the windows', async () => {
      const { session, socket, raw, done } = await rawPair(transport, 'client');
      let writeCalls = 0;
      const write = socket.write.bind(socket) as (c: Uint8Array) => boolean;
      socket.write = ((c: Uint8Array) => {
        writeCalls++;
        return write(c);
      }) as typeof socket.write;
      raw.socket.pause();
      const streams = transport === 'memory' ? 4 : 64;
      const opened = Array.from({ length: streams }, () => session.open());
      for (const s of opened) s.write(pattern(INITIAL_STREAM_WINDOW + 100_000));
      await until(() => socket.writableNeedDrain, 'the socket reports backpressure', 10_000);
      await tick(50);
      const callsWhileBlocked = writeCalls;
      await tick(100);
      assert.equal(writeCalls, callsWhileBlocked, 'no socket.write while blocked');
      assert.ok(
        socket.writableLength <= streams * (INITIAL_STREAM_WINDOW + 4096),
        `${socket.writableLength} buffered`,
      );
      for (const s of opened) assert.equal(s.queuedBytes, 100_000, 'the rest waits for window');
      raw.socket.resume();
      const dataBytes = () =>
        raw.frames.filter((f) => f.type === FrameType.Data).reduce((n, f) => n + f.payload.length, 0);
      await until(
        () => dataBytes() === streams * INITIAL_STREAM_WINDOW,
        'exactly one window per stream',
        10_000,
      );
      await tick(20);
      assert.equal(dataBytes(), streams * INITIAL_STREAM_WINDOW);
      await done();
    });

    it('window: credit returned after consumption lets the peer send exactly that much more', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      let received = 0;
      session.onStream = (s) =>
        s.listen({
          onData: (c) => {
            received += c.length;
          },
          onEnd() {},
          onClose() {},
        });
      syn(raw, 1);
      raw.send(FrameType.Data, 0, 1, INITIAL_STREAM_WINDOW, pattern(INITIAL_STREAM_WINDOW));
      const credit = await raw.waitFor((f) => f.type === FrameType.WindowUpdate && f.length > 0, 'credit');
      assert.ok(
        credit.length >= INITIAL_STREAM_WINDOW / 2,
        `credit ${credit.length} is at least half the window`,
      );
      const updates = raw.frames.filter(
        (f) => f.type === FrameType.WindowUpdate && f.streamId === 1 && f.length > 0,
      );
      assert.ok(updates.length <= 2, `credit is batched (${updates.length} updates for one window)`);
      await until(() => received === INITIAL_STREAM_WINDOW, 'all delivered');
      const granted = updates.reduce((n, f) => n + f.length, 0);
      raw.send(FrameType.Data, 0, 1, granted, pattern(granted));
      await until(() => received === INITIAL_STREAM_WINDOW + granted, 'credit used');
      assert.equal(session.isClosed, false);
      await done();
    });

    // In memory only: a loopback TCP socket's kernel buffers take megabytes before write() says false.
    if (transport === 'memory')
      it(`MAX_QUEUED_PONGS: while our socket is congested at most ${MAX_QUEUED_PONGS} ping answers wait; the rest go unanswered`, async () => {
        const { session, socket, raw, done } = await rawPair(transport, 'server');
        // The peer stops reading, and a stream fills its window: our socket.write() says false, nothing more
        // is written until 'drain'.
        raw.socket.pause();
        const s = session.open(Uint8Array.of(1));
        s.write(pattern(INITIAL_STREAM_WINDOW - 1));
        await until(() => socket.writableNeedDrain, 'our socket congested');
        const pings = 3 * MAX_QUEUED_PONGS;
        for (let i = 1; i <= pings; i++) raw.send(FrameType.Ping, Flag.SYN, 0, i);
        await tick(20);
        raw.socket.resume();
        await raw.waitFor((f) => f.type === FrameType.Data && f.streamId === 2, 'the stream data');
        await tick(20);
        const answered = raw.frames.filter((f) => f.type === FrameType.Ping).map((f) => f.length);
        assert.deepEqual(
          answered,
          Array.from({ length: MAX_QUEUED_PONGS }, (_, i) => i + 1),
          'the first ones are answered, the rest dropped',
        );
        // Not a lasting state: once the socket drains, pings are answered again.
        raw.send(FrameType.Ping, Flag.SYN, 0, 999);
        await raw.waitFor((f) => f.type === FrameType.Ping && f.length === 999, 'a later ping answered');
        assert.equal(session.isClosed, false);
        s.reset();
        await done();
      });
  });
}
