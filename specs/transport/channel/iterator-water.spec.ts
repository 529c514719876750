/**
 * A Receiver's `for await` buffer (docs/ERRORS.md 6.6), over TCP: the stream is paused once
 * ITERATOR_HIGH_WATER messages wait in it, and resumed once the reader has taken it down to
 * ITERATOR_LOW_WATER. A paused stream's further messages stay in the multiplexer, unread, where
 * `bufferedBytes` shows them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { ITERATOR_HIGH_WATER, ITERATOR_LOW_WATER } from '../../../src/transport/channel/index.js';
import { makePair, waitFor, within } from './pair.js';

/** Bytes of one record carrying a small integer: 4 of length, 1 of type, its MessagePack body. */
const RECORD = 5 + encode(1).length;

describe('a Receiver read with for-await, over TCP', () => {
  it(`pauses the stream at ITERATOR_HIGH_WATER (${ITERATOR_HIGH_WATER}) waiting messages and resumes it at ITERATOR_LOW_WATER (${ITERATOR_LOW_WATER})`, async () => {
    const p = await makePair('tcp', 'client-opens');
    try {
      const sender = p.a.open<number>();
      await sender.send(0);
      const receiver = await within(p.b.accept<number>(), 5000, 'the channel');
      const it = receiver[Symbol.asyncIterator](); // subscribes; nothing is taken yet
      const [stream] = p.b.mux.listStreams();
      assert.ok(stream, 'the channel has a stream');
      /** Send one message and wait until b has read its frame (a ping answered after it). */
      const step = async (n: number) => {
        await sender.send(n);
        await new Promise((resolve) => setImmediate(resolve)); // the frame is on the socket
        await within(p.a.mux.ping(), 5000, 'a ping');
      };
      // Messages 0 .. HIGH_WATER-1 fill the iterator's buffer; the stream flows until then.
      for (let n = 1; n < ITERATOR_HIGH_WATER; n++) {
        await step(n);
        assert.equal(stream.bufferedBytes, 0, `message ${n} was taken into the iterator's buffer`);
      }
      // Paused: what follows waits in the multiplexer.
      const held = 7;
      for (let n = ITERATOR_HIGH_WATER; n < ITERATOR_HIGH_WATER + held; n++) await step(n);
      assert.equal(stream.bufferedBytes, held * RECORD, `${held} messages held in the multiplexer`);
      // Taking messages: still paused until only LOW_WATER are left in the buffer.
      let expected = 0;
      const take = async () => {
        const r = await within(it.next(), 5000, 'a message');
        assert.deepEqual(r, { value: expected++, done: false });
      };
      for (let k = 0; k < ITERATOR_HIGH_WATER - ITERATOR_LOW_WATER - 1; k++) await take();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(stream.bufferedBytes, held * RECORD, `still paused with ${ITERATOR_LOW_WATER + 1} left`);
      await take(); // LOW_WATER left: resumed, the held messages are delivered
      await waitFor(() => stream.bufferedBytes === 0, 5000, 'the held messages to be delivered');
      // Every message arrives once, in order.
      sender.close();
      for (let n = expected; n < ITERATOR_HIGH_WATER + held; n++) await take();
      assert.deepEqual(await within(it.next(), 5000, 'the end'), { value: undefined, done: true });
      await p.finish();
    } catch (err) {
      await p.teardown();
      throw err;
    }
  });
});
