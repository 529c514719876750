/**
 * Receive-window auto-tuning: the growth rule and its bounds on the tuner alone (clock and round trip
 * given), then on the wire against a raw peer that sends as fast as credit allows and answers pings after
 * a fixed delay (a link of that round-trip time). A fast reader's window grows up to maxStreamWindow and
 * no further; a paused reader's does not; the session's growth budget is never exceeded and comes back
 * when streams close; a paused stream buffers at most its grown window, and a byte beyond it is still
 * WINDOW_EXCEEDED.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isTransportError } from '../../../src/transport/errors.js';
import { defaultConfig } from '../../../src/transport/mux/config.js';
import { Flag, FrameType, GoAwayCode, INITIAL_STREAM_WINDOW } from '../../../src/transport/mux/frame.js';
import type { Stream } from '../../../src/transport/mux/index.js';
import { RTT_MAX_AGE_MS, TUNE_RTTS, WindowTuner } from '../../../src/transport/mux/window.js';
import {
  pattern,
  type RawFrame,
  type RawPeer,
  rawPair,
  TRANSPORTS,
  tick,
  until,
  withTimeout,
} from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** The raw peer answers pings after this long: the round trip the session's tuner measures, ms. */
const PING_DELAY_MS = 100;

describe('mux window tuner', () => {
  const tuner = (max = 16 * MiB, budget = 32 * MiB) => {
    let probes = 0;
    const t = new WindowTuner(INITIAL_STREAM_WINDOW, max, budget, () => void probes++);
    return { t, probes: () => probes };
  };

  it('asks for a round trip first and does not grow without one', () => {
    const { t, probes } = tuner();
    assert.equal(t.grow(INITIAL_STREAM_WINDOW, INITIAL_STREAM_WINDOW / 2, 0.001, 1), 0);
    assert.equal(probes(), 1);
  });

  it(`doubles a window consumed within ${TUNE_RTTS} round trips per window, not one consumed slower`, () => {
    const { t } = tuner();
    t.onRtt(10, 0);
    const half = INITIAL_STREAM_WINDOW / 2;
    // Half the window in under 2 RTTs (20 ms): too fast for the window.
    assert.equal(t.grow(INITIAL_STREAM_WINDOW, half, 19, 1), INITIAL_STREAM_WINDOW);
    // Half the window in 2 RTTs or more: the window is not what limits.
    assert.equal(t.grow(2 * INITIAL_STREAM_WINDOW, INITIAL_STREAM_WINDOW, 20, 2), 0);
    // A whole window's worth of credit gets twice the time.
    assert.equal(t.grow(INITIAL_STREAM_WINDOW, INITIAL_STREAM_WINDOW, 39, 3), INITIAL_STREAM_WINDOW);
  });

  it('never grows a window beyond max', () => {
    const { t } = tuner(MiB + 100 * KiB);
    t.onRtt(10, 0);
    assert.equal(t.grow(MiB, MiB / 2, 0, 1), 100 * KiB);
    assert.equal(t.grow(MiB + 100 * KiB, MiB, 0, 1), 0);
  });

  it('refreshes a stale round trip with a probe', () => {
    const { t, probes } = tuner();
    t.onRtt(10, 0);
    t.grow(INITIAL_STREAM_WINDOW, 1, 1000, RTT_MAX_AGE_MS);
    assert.equal(probes(), 0);
    t.grow(INITIAL_STREAM_WINDOW, 1, 1000, RTT_MAX_AGE_MS + 1);
    assert.equal(probes(), 1);
  });

  it('hands out at most the budget, and takes back what closing streams give', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 8 * MiB }),
        fc.array(
          fc.oneof(
            fc.nat(7).map((i) => ({ grow: i })),
            fc.nat(7).map((i) => ({ close: i })),
          ),
          {
            maxLength: 60,
          },
        ),
        (budget, ops) => {
          const max = 4 * MiB;
          const { t } = tuner(max, budget);
          t.onRtt(10, 0);
          const sizes = Array.from({ length: 8 }, () => INITIAL_STREAM_WINDOW);
          for (const o of ops) {
            if ('grow' in o) {
              const size = sizes[o.grow]!;
              const n = t.grow(size, size / 2, 0, 1);
              assert.ok(n <= size, 'at most doubles');
              sizes[o.grow] = size + n;
              assert.ok(sizes[o.grow]! <= max, 'within max');
            } else {
              t.release(sizes[o.close]! - INITIAL_STREAM_WINDOW);
              sizes[o.close] = INITIAL_STREAM_WINDOW;
            }
            const granted = sizes.reduce((a, s) => a + s - INITIAL_STREAM_WINDOW, 0);
            assert.ok(t.budget >= 0, 'never more than the budget');
            assert.equal(granted + t.budget, budget, 'granted + left is the budget');
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

/**
 * The raw peer's side of one stream: sends `total` bytes, from the SYN on, as fast as the session's
 * credit allows, and checks on every WindowUpdate that the allowance never passes `maxWindow`.
 */
class RawSender {
  sent = 0;
  /** Bytes the session allows us to send now: 256 KiB plus every delta granted, minus what we sent. */
  allowance = INITIAL_STREAM_WINDOW;
  maxAllowance = INITIAL_STREAM_WINDOW;
  credits: number[] = [];
  private readonly chunk = pattern(64 * KiB, 5);

  constructor(
    private readonly raw: RawPeer,
    readonly id: number,
    private total: number,
    private readonly maxWindow: number,
  ) {}

  onFrame(f: RawFrame): void {
    if (f.streamId !== this.id || f.type !== FrameType.WindowUpdate || f.length === 0) return;
    this.credits.push(f.length);
    this.allowance += f.length;
    this.maxAllowance = Math.max(this.maxAllowance, this.allowance);
    assert.ok(this.allowance <= this.maxWindow, `allowance ${this.allowance} > ${this.maxWindow}`);
    this.pump();
  }

  /** Send as much as the allowance lets us. */
  pump(): void {
    while (this.allowance > 0 && this.sent < this.total) {
      const n = Math.min(this.allowance, this.chunk.length, this.total - this.sent);
      this.raw.send(FrameType.Data, this.sent === 0 ? Flag.SYN : 0, this.id, n, this.chunk.subarray(0, n));
      this.sent += n;
      this.allowance -= n;
    }
  }

  /** Send `n` more bytes (beyond the first total) the next time the allowance permits. */
  more(n: number): void {
    this.total += n;
    this.pump();
  }
}

/** A raw peer (client role) with a session (server role) that measured the peer's round trip once. */
async function tunedPair(transport: (typeof TRANSPORTS)[number], config: Record<string, number>) {
  const pair = await rawPair(transport, 'server', config);
  pair.raw.pingDelayMs = PING_DELAY_MS;
  const senders = new Map<number, RawSender>();
  pair.raw.onFrame = (f) => senders.get(f.streamId)?.onFrame(f);
  const rtt = await withTimeout(pair.session.ping(), 5_000, 'ping');
  // Timers may fire a little early as performance.now() counts.
  assert.ok(rtt >= PING_DELAY_MS - 5, `round trip ${rtt} ms`);
  const send = (id: number, total: number, maxWindow: number): RawSender => {
    const s = new RawSender(pair.raw, id, total, maxWindow);
    senders.set(id, s);
    return s;
  };
  return { ...pair, send };
}

/**
 * Every inbound stream is read at once; `check` runs after each chunk. `until(cond)` waits for `cond`
 * and fails at once with the first failed check (a throw inside onData would only reset the stream).
 */
function fastReaders(session: { onStream: ((s: Stream) => void) | undefined }, check: () => void) {
  const streams = new Map<number, Stream>();
  const received = new Map<number, number>();
  let failure: unknown;
  session.onStream = (s) => {
    streams.set(s.id, s);
    received.set(s.id, 0);
    s.listen({
      onData: (c) => {
        received.set(s.id, received.get(s.id)! + c.length);
        try {
          assert.ok(s.bufferedBytes <= s.receiveWindow);
          check();
        } catch (err) {
          failure ??= err;
        }
      },
      onEnd: () => s.end(),
      onClose() {},
    });
  };
  const waitFor = async (cond: () => boolean, what: string, ms = 20_000): Promise<void> => {
    await until(() => failure !== undefined || cond(), what, ms);
    if (failure !== undefined) throw failure;
  };
  return { streams, received, until: waitFor };
}

for (const transport of TRANSPORTS) {
  describe(`mux receive-window auto-tuning over ${transport}`, () => {
    it('a fast reader grows its window up to maxStreamWindow and no further', async () => {
      const max = 2 * MiB;
      const { session, send, done } = await tunedPair(transport, { maxStreamWindow: max });
      const {
        streams,
        received,
        until: read,
      } = fastReaders(session, () => {
        for (const s of streams.values()) assert.ok(s.receiveWindow <= max);
      });
      const total = 16 * MiB;
      const sender = send(1, total, max);
      sender.pump();
      await read(() => received.get(1) === total, 'all bytes read');
      const s = streams.get(1)!;
      assert.equal(s.receiveWindow, max, 'grown to maxStreamWindow');
      assert.ok(sender.maxAllowance > INITIAL_STREAM_WINDOW, 'the peer was allowed more than 256 KiB');
      assert.ok(sender.maxAllowance <= max);
      await done();
    });

    it('a paused reader keeps its window: credit after the pause is what it consumed, nothing more', async () => {
      const { session, raw, send, done } = await tunedPair(transport, {});
      let stream: Stream | undefined;
      let received = 0;
      session.onStream = (s) => {
        stream = s;
        s.pause();
        s.listen({
          onData: (c) => {
            received += c.length;
          },
          onEnd() {},
          onClose() {},
        });
      };
      const sender = send(1, 2 * MiB, defaultConfig().maxStreamWindow);
      sender.pump();
      await until(() => stream?.bufferedBytes === INITIAL_STREAM_WINDOW, 'a full window buffered');
      // Longer than the tuner allows for a whole window's worth of credit.
      await tick(TUNE_RTTS * PING_DELAY_MS + 100);
      assert.equal(stream!.receiveWindow, INITIAL_STREAM_WINDOW);
      assert.deepEqual(sender.credits, [], 'no credit while paused');
      assert.ok(!raw.frames.some((f) => f.type === FrameType.Data), 'the session sent nothing');
      stream!.resume();
      await until(() => sender.credits.length > 0, 'credit after resume');
      assert.equal(sender.credits[0], INITIAL_STREAM_WINDOW, 'the bytes consumed, no growth');
      await until(() => received === 2 * MiB, 'the rest read', 20_000);
      await done();
    });

    it('the growth of all streams together stays within windowGrowthBudget, and comes back when they close', async () => {
      const budget = MiB;
      const max = 4 * MiB;
      const { session, raw, send, done } = await tunedPair(transport, {
        maxStreamWindow: max,
        windowGrowthBudget: budget,
      });
      let peak = 0;
      const {
        streams,
        received,
        until: read,
      } = fastReaders(session, () => {
        let growth = 0;
        for (const s of streams.values()) growth += s.receiveWindow - INITIAL_STREAM_WINDOW;
        assert.ok(growth <= budget, `growth ${growth} > budget`);
        peak = Math.max(peak, growth);
      });
      const total = 8 * MiB;
      const senders = [1, 3, 5].map((id) => send(id, total, max));
      for (const s of senders) s.pump();
      await read(() => [1, 3, 5].every((id) => received.get(id) === total), 'all bytes read', 30_000);
      assert.equal(peak, budget, 'the budget was used up');
      // Half-close from the raw side; the readers end theirs, and the streams leave the table.
      for (const id of [1, 3, 5]) raw.send(FrameType.WindowUpdate, Flag.FIN, id, 0);
      await until(() => session.streamCount === 0, 'the three streams closed');
      streams.clear();
      const last = send(7, total, max);
      last.pump();
      await read(() => received.get(7) === total, 'stream 7 read');
      assert.equal(streams.get(7)!.receiveWindow, INITIAL_STREAM_WINDOW + budget, 'the whole budget again');
      await done();
    });

    it('a paused stream buffers at most its grown window; a byte beyond it is WINDOW_EXCEEDED', async () => {
      const max = MiB;
      const { session, raw, send, done } = await tunedPair(transport, { maxStreamWindow: max });
      const { streams, received, until: read } = fastReaders(session, () => {});
      const sender = send(1, 4 * MiB, max);
      sender.pump();
      await read(() => received.get(1) === 4 * MiB, 'all bytes read');
      const s = streams.get(1)!;
      assert.equal(s.receiveWindow, max);
      // Let the last credits reach the raw peer, then stop reading: no credit goes out any more.
      await tick(50);
      s.pause();
      const credits = sender.credits.length;
      const left = sender.allowance;
      assert.ok(left > 0 && left <= max, `allowance ${left}`);
      sender.more(left);
      await until(() => s.bufferedBytes === left, 'the rest of the window buffered');
      await tick(30);
      assert.equal(session.isClosed, false, 'exactly the window is allowed');
      assert.equal(sender.credits.length, credits, 'no credit while paused');
      assert.ok(s.bufferedBytes <= s.receiveWindow);
      raw.send(FrameType.Data, 0, 1, 1, Uint8Array.of(1));
      await raw.waitFor(
        (f) => f.type === FrameType.GoAway && f.length === GoAwayCode.ProtocolError,
        'GoAway(1)',
      );
      const err = await withTimeout(session.closed, 5_000, 'session closed');
      assert.ok(isTransportError(err, 'WINDOW_EXCEEDED'), String(err));
      await done();
    });
  });
}
