/**
 * The Sender's promise-free additions — write(), drained(), onClosed() — and the reference gate keeping
 * order: a message whose references wait for the gate is not overtaken by later messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Receiver, Sender } from '../../../src/transport/channel/index.js';
import { isTransportError, type TransportError } from '../../../src/transport/errors.js';
import { all, collect, isCode, T } from './helpers.js';
import { makePair, type Pair, waitFor, within } from './pair.js';

async function withPair(run: (p: Pair) => Promise<void>): Promise<void> {
  const p = await makePair('memory', 'client-opens');
  try {
    await run(p);
  } catch (err) {
    await p.teardown();
    throw err;
  }
  await p.finish();
}

describe('Sender.write, drained, onClosed', () => {
  it('write() queues in order with send(), returns true below the high-water mark, throws after close', () =>
    withPair(async (p) => {
      const tx = p.a.open<number>();
      const rx = p.b.accept<number>();
      assert.equal(tx.write(1), true);
      await tx.send(2);
      assert.equal(tx.write(3), true);
      tx.close();
      assert.throws(() => tx.write(4), isCode('STREAM_CLOSED'));
      assert.deepEqual(await all(await rx), [1, 2, 3]);
      assert.equal(await tx.closed, undefined);
    }));

  it('write() throws ENCODE_ERROR at once for a value that cannot be encoded; the channel goes on', () =>
    withPair(async (p) => {
      const tx = p.a.open<unknown>();
      const rx = p.b.accept<unknown>();
      assert.throws(() => tx.write({ f: () => 1 }), isCode('ENCODE_ERROR'));
      tx.write('ok');
      tx.close();
      assert.deepEqual(await all(await rx), ['ok']);
    }));

  it('write() on an unbound sender waits for the bind; drained() resolves once it is bound and flushed', () =>
    withPair(async (p) => {
      const tx = p.a.open<{ r: Sender<string> }>();
      const rx = p.b.accept<{ r: Receiver<string> }>();
      const reply = new Sender<string>();
      assert.equal(reply.write('early'), false, 'unbound: the message waits');
      const drained = reply.drained();
      tx.write({ r: reply });
      const outer = await rx;
      const m = await within(
        new Promise<{ r: Receiver<string> }>((resolve) => outer.subscribe({ next: resolve })),
        T,
        'the message',
      );
      await within(drained, T, 'drained after the bind');
      assert.equal(reply.write('late'), true);
      reply.close();
      assert.deepEqual(await all(m.r), ['early', 'late']);
      tx.close();
    }));

  it('onClosed: undefined after a clean close, CHANNEL_CANCELLED when the receiver cancels, late listeners too', () =>
    withPair(async (p) => {
      const clean = p.a.open<number>();
      const cleanRx = p.b.accept<number>();
      const seen: (TransportError | undefined | 'pending')[] = ['pending', 'pending'];
      clean.onClosed((err) => {
        seen[0] = err;
      });
      clean.write(1);
      clean.close();
      assert.deepEqual(await all(await cleanRx), [1]);
      await waitFor(() => seen[0] !== 'pending', T, 'the close listener');
      assert.equal(seen[0], undefined);
      let late: TransportError | undefined | 'pending' = 'pending';
      clean.onClosed((err) => {
        late = err;
      });
      await waitFor(() => late !== 'pending', T, 'the late listener');
      assert.equal(late, undefined);

      const cancelled = p.a.open<number>();
      const rx = await p.b.accept<number>();
      cancelled.onClosed((err) => {
        seen[1] = err;
      });
      rx.cancel();
      await waitFor(() => seen[1] !== 'pending', T, 'the cancel listener');
      assert.ok(isTransportError(seen[1], 'CHANNEL_CANCELLED'));
      assert.throws(() => cancelled.write(2), isCode('CHANNEL_CANCELLED'));
    }));
});

describe('reference gate', () => {
  it('a message whose references wait behind a full window is not overtaken by later messages', () =>
    withPair(async (p) => {
      const tx = p.a.open<unknown>();
      const rx = await p.b.accept<unknown>();
      const got = collect(rx);
      // Above the 256 KiB stream window: it waits in the multiplexer, so the next message's reference may
      // not open yet and that message is held; the message after it must wait behind it.
      const big = new Uint8Array(600 * 1024).fill(7);
      const reply = new Receiver<string>();
      const sends = [tx.send(big), tx.send({ reply }), tx.send('after')];
      assert.equal(p.a.mux.streamCount, 1, 'no SYN for the reference while its record would wait for window');
      tx.close(); // FIN after all three, held ones included
      const { values, error } = await got;
      assert.equal(error, undefined);
      assert.equal(values.length, 3);
      assert.equal((values[0] as Uint8Array).length, big.length);
      assert.equal(values[2], 'after');
      const s = (values[1] as { reply: Sender<string> }).reply;
      s.write('through');
      s.close();
      assert.deepEqual(await all(reply), ['through']);
      await Promise.all(sends);
    }));
});

describe('a held message that fails after write() accepted it', () => {
  /** write() a message too large for the stream window, then one carrying a Receiver and a Sender: the
   *  gate holds the second (its record could not follow its SYNs at once). */
  function holdEnds(tx: Sender<unknown>, mux: { streamCount: number }) {
    const reply = new Receiver<string>();
    const back = new Sender<string>();
    tx.write(new Uint8Array(600 * 1024));
    assert.equal(tx.write({ reply, back }), false);
    assert.equal(mux.streamCount, 1, 'held: no SYN yet');
    return { reply, back, replyEnd: collect(reply), backEnd: back.closed };
  }

  it('ends its Receiver and Sender with the reason when the channel is cancelled under it', () =>
    withPair(async (p) => {
      const tx = p.a.open<unknown>();
      const rx = await p.b.accept<unknown>();
      const { back, replyEnd, backEnd } = holdEnds(tx, p.a.mux);
      rx.cancel();
      const { error } = await within(replyEnd, T, 'the held Receiver ends');
      assert.ok(isTransportError(error, 'CHANNEL_CANCELLED'), String(error));
      assert.ok(isTransportError(await within(backEnd, T, 'the held Sender ends'), 'CHANNEL_CANCELLED'));
      await assert.rejects(back.send('late'), isCode('CHANNEL_CANCELLED'));
      // Over, so it cannot be put in another message either.
      const other = p.a.open<unknown>();
      assert.throws(() => other.write({ back }), isCode('ENCODE_ERROR'));
      other.close();
      await (await p.b.accept<unknown>()).forEach(() => {});
    }));

  it('ends its Receiver and Sender with the error that stopped it when its streams cannot open', async () => {
    const p = await makePair('memory', 'client-opens', { mux: { maxConcurrentStreams: 2 } });
    try {
      const tx = p.a.open<unknown>();
      const rx = await p.b.accept<unknown>();
      const { replyEnd, backEnd } = holdEnds(tx, p.a.mux);
      const other = p.a.open<unknown>(); // the second and last stream: the held message's SYNs cannot open
      const got = collect(rx); // opens the window: the gate retries the held message, which fails
      const { error } = await within(replyEnd, T, 'the held Receiver ends');
      assert.ok(isTransportError(error, 'STREAM_LIMIT'), String(error));
      assert.ok(isTransportError(await within(backEnd, T, 'the held Sender ends'), 'STREAM_LIMIT'));
      assert.ok(isTransportError(await within(tx.closed, T, 'the channel is reset'), 'STREAM_LIMIT'));
      assert.notEqual((await within(got, T, 'the receiver ends')).error, undefined);
      other.close();
      await (await p.b.accept<unknown>()).forEach(() => {});
    } catch (err) {
      await p.teardown();
      throw err;
    }
    await p.finish();
  });
});

describe('Receiver.consume', () => {
  it('delivers every message then complete, counts as the one subscriber, and cancel() completes it', () =>
    withPair(async (p) => {
      const tx = p.a.open<number>();
      const rx = await p.b.accept<number>();
      const seen: unknown[] = [];
      const ended = new Promise<string>((resolve) =>
        rx.consume({
          next: (v) => seen.push(v),
          error: (err) => resolve(`error ${String(err)}`),
          complete: () => resolve('complete'),
        }),
      );
      const second = await collect(rx);
      assert.ok(isTransportError(second.error, 'ALREADY_SUBSCRIBED'));
      tx.write(1);
      tx.write(2);
      tx.close();
      assert.equal(await within(ended, T, 'the end'), 'complete');
      assert.deepEqual(seen, [1, 2]);

      const tx2 = p.a.open<number>();
      const rx2 = await p.b.accept<number>();
      let end2 = '';
      rx2.consume({
        next: () => {},
        error: () => {
          end2 = 'error';
        },
        complete: () => {
          end2 = 'complete';
        },
      });
      rx2.cancel();
      assert.equal(end2, 'complete');
      await within(tx2.closed, T, 'the cancel to reach the sender').then((err) =>
        assert.ok(isTransportError(err, 'CHANNEL_CANCELLED')),
      );
    }));
});
