/**
 * Channel scenarios about how channels and byte streams end: connection loss, cancelled and failed byte
 * streams, the async iterator's backpressure, onChannel.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { Receiver, type Sender } from '../../../src/transport/channel/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { all, collect, type Scenario, T } from './helpers.js';
import { staysPending, within } from './pair.js';

const lost = (e: unknown) => isTransportError(e, 'CONNECTION_LOST') || isTransportError(e, 'SESSION_CLOSED');

/** A Readable that produces 16 KiB chunks until destroyed (at most 64 MiB, so it cannot run away). */
function endless(): Readable {
  let n = 0;
  return new Readable({
    read() {
      this.push(n++ < 4096 ? Buffer.alloc(16 * 1024, n) : null);
    },
  });
}

export const lifecycleScenarios: Scenario[] = [
  {
    name: 'the connection is lost: every end and accept() learn it',
    async run(p) {
      const s = p.a.open<{ reply: Receiver<number> }>();
      const reply = new Receiver<number>();
      await s.send({ reply });
      const r = await p.b.accept<{ reply: Sender<number> }>();
      const first = new Promise<Sender<number>>((resolve) =>
        r.subscribe({ next: (m) => resolve(m.reply), error() {} }),
      );
      const peerReply = await within(first, T, 'the request');
      const replyEnd = collect(reply);
      const pendingAccept = p.a.accept();
      p.sockets.b.destroy();
      assert.ok(lost(await within(s.closed, T, 'the sender')), 'sender');
      assert.ok(lost((await replyEnd).error), 'reply receiver');
      assert.ok(lost(await within(peerReply.closed, T, 'the peer sender')), 'peer sender');
      await assert.rejects(pendingAccept, lost);
      await assert.rejects(s.send({ reply: new Receiver() }), lost);
      assert.throws(() => p.a.open(), lost);
    },
  },
  {
    name: 'the receiver of bytes destroys its Readable: the source Readable is destroyed',
    async run(p) {
      const source = endless();
      const top = p.a.open<{ body: Readable }>();
      await top.send({ body: source });
      top.close();
      const [m] = await all(await p.b.accept<{ body: Readable }>());
      const got = await within(once(m!.body, 'data'), T, 'the first chunk');
      assert.ok((got[0] as Buffer).length > 0);
      m!.body.destroy();
      await within(once(source, 'close'), T, 'the source to close');
      assert.ok(source.destroyed);
    },
  },
  {
    name: "the source of bytes fails: the peer's Readable errors with STREAM_RESET",
    async run(p) {
      const source = endless();
      const top = p.a.open<{ body: Readable }>();
      await top.send({ body: source });
      top.close();
      const [m] = await all(await p.b.accept<{ body: Readable }>());
      await within(once(m!.body, 'data'), T, 'the first chunk');
      source.destroy(new Error('disk failed'));
      await assert.rejects(
        within(
          (async () => {
            for await (const _ of m!.body) {
              // drain until the error
            }
          })(),
          T,
          'the error',
        ),
        (e: unknown) => isTransportError(e, 'STREAM_RESET'),
      );
    },
  },
  {
    name: 'the owner of a Writable destroys it: the peer writing into it gets an error',
    async run(p) {
      const sink = new Writable({
        write(_chunk, _enc, cb) {
          cb();
        },
      });
      const top = p.a.open<{ sink: Writable }>();
      await top.send({ sink });
      top.close();
      const [m] = await all(await p.b.accept<{ sink: Writable }>());
      const w = m!.sink;
      w.write(Buffer.alloc(1000));
      sink.destroy();
      await within(new Promise((resolve) => w.once('close', resolve)), T, 'the remote writable to close');
      assert.ok(isTransportError(w.errored, 'STREAM_RESET'), String(w.errored));
    },
  },
  {
    name: 'an async iterator that stops pulling holds the sender; its buffer stays bounded',
    async run(p) {
      const pad = 'x'.repeat(1000);
      const s = p.a.open<{ i: number; pad: string }>();
      await s.send({ i: 0, pad });
      const r = await p.b.accept<{ i: number; pad: string }>();
      const it = r[Symbol.asyncIterator]();
      assert.equal((await it.next()).value?.i, 0);
      let sent = 1;
      let pending: Promise<void> | undefined;
      for (let i = 0; i < 5000 && pending === undefined; i++) {
        const next = s.send({ i: sent, pad });
        if (await staysPending(next, 200)) pending = next;
        else sent++;
      }
      assert.ok(pending, 'send() never became pending');
      // ~1 KiB messages: the iterator buffer (64), the stream window (256 KiB) and the sender's write
      // high-water mark (256 KiB) hold about 580 of them.
      assert.ok(sent < 700, `${sent} sends resolved`);
      let expected = 1;
      const draining = (async () => {
        for (;;) {
          const { value, done } = await it.next();
          if (done) return;
          assert.equal(value.i, expected++);
        }
      })();
      await within(pending, T, 'the pending send');
      s.close();
      await within(draining, T, 'the rest');
      assert.equal(expected, sent + 1);
    },
  },
  {
    name: 'onChannel gets every top-level channel, the waiting ones first',
    async run(p) {
      const senders = [0, 1, 2].map(() => p.a.open<number>());
      for (const [i, s] of senders.entries()) {
        await s.send(i);
        s.close();
      }
      const r0 = await p.b.accept<number>();
      assert.deepEqual(await all(r0), [0]);
      const seen: Promise<number[]>[] = [];
      const two = new Promise<void>((resolve) => {
        p.b.onChannel = (r) => {
          seen.push(all(r as Receiver<number>));
          if (seen.length === 2) resolve();
        };
      });
      await within(two, T, 'two channels');
      assert.deepEqual(await Promise.all(seen), [[1], [2]]);
    },
  },
];
