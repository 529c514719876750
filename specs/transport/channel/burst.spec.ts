/**
 * A burst of messages that each name a new channel, over TCP with the default channel limits: the SYN of
 * every nested stream must not run ahead of the message naming it by more than the peer's
 * maxUnclaimedStreams (256), even when the messages together are far above the channel's send window and
 * wait for it. Before the sender held references back, the SYNs went out at encode time while the records
 * waited for window, and the receiver reset the streams beyond its limit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Receiver, type Sender } from '../../../src/transport/channel/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { makePair, within } from './pair.js';

/** Messages in the burst: each carries a new Receiver, so 10,000 nested streams. */
const MESSAGES = 10_000;
/** Padding per message so the burst (~10,000 x 70 bytes) is well above the 256 KiB stream window. */
const PAD = 'x'.repeat(48);

interface Call {
  readonly i: number;
  readonly pad: string;
  readonly reply: Sender<number>;
}

describe('a burst of messages naming new channels, over TCP with default channel limits', () => {
  it('10,000 messages each naming a new Receiver, sent without awaiting: none reset, all claimed', async () => {
    // Only the multiplexer's stream count is raised, so 10,000 reply streams may be open at once.
    const p = await makePair('tcp', 'client-opens', { mux: { maxConcurrentStreams: 3 * MESSAGES } });
    try {
      let served = 0;
      let peak = 0;
      const serverErrors: unknown[] = [];
      p.b.onChannel = (mailbox) => {
        (mailbox as Receiver<Call>).subscribe({
          next(call) {
            served++;
            peak = Math.max(peak, p.b.unclaimedCount);
            call.reply.send(call.i).catch((err: unknown) => serverErrors.push(err));
            call.reply.close();
          },
          error: (err: unknown) => serverErrors.push(err),
        });
      };
      const mailbox = p.a.open<{ i: number; pad: string; reply: Receiver<number> }>();
      const replies: Promise<number[]>[] = [];
      const sends: Promise<void>[] = [];
      for (let i = 0; i < MESSAGES; i++) {
        const reply = new Receiver<number>();
        replies.push(collectAll(reply));
        sends.push(mailbox.send({ i, pad: PAD, reply }));
      }
      // Settled handlers attached at once: a reply channel that fails early is counted, not unhandled.
      const repliesSettled = Promise.allSettled(replies);
      const sent = await within(Promise.allSettled(sends), 30_000, 'the sends');
      const failedSends = sent.filter((s) => s.status === 'rejected');
      assert.equal(
        failedSends.length,
        0,
        `sends failed: ${String((failedSends[0] as PromiseRejectedResult)?.reason)}`,
      );
      const results = await within(repliesSettled, 30_000, 'the replies');
      const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      assert.equal(
        failed.length,
        0,
        `${failed.length} reply channels failed, the first with ${String(failed[0]?.reason)}${
          isTransportError(failed[0]?.reason) ? ` (${failed[0]!.reason.code})` : ''
        }`,
      );
      for (let i = 0; i < MESSAGES; i++) {
        assert.deepEqual((results[i] as PromiseFulfilledResult<number[]>).value, [i]);
      }
      assert.equal(served, MESSAGES);
      assert.deepEqual(serverErrors, []);
      assert.ok(peak <= p.b.config.maxUnclaimedStreams, `peak unclaimed ${peak}`);
      mailbox.close();
      await p.finish();
    } finally {
      await p.teardown();
    }
  });
});

function collectAll<T>(receiver: Receiver<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    receiver.subscribe({ next: (v) => out.push(v), error: reject, complete: () => resolve(out) });
  });
}
