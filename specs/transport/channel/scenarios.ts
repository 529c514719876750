/**
 * Channel scenarios, run by the session specs over memory and TCP, with either yamux role opening.
 * Each takes a fresh Pair and ends with `pair.finish()` (no streams left on either side).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { firstValueFrom } from 'rxjs';
import { Receiver, Sender } from '../../../src/transport/channel/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { all, collect, isCode, type Scenario, T } from './helpers.js';
import { staysPending, within } from './pair.js';

export type { Scenario } from './helpers.js';

export const scenarios: Scenario[] = [
  {
    name: 'messages arrive in order, then the channel completes',
    async run(p) {
      const s = p.a.open<{ i: number; text: string }>();
      for (let i = 0; i < 200; i++) await s.send({ i, text: 'x'.repeat(i) });
      s.close();
      const r = await within(p.b.accept<{ i: number; text: string }>(), T, 'accept');
      const got: number[] = [];
      for await (const m of r) {
        assert.equal(m.text.length, m.i);
        got.push(m.i);
      }
      assert.deepEqual(
        got,
        Array.from({ length: 200 }, (_, i) => i),
      );
      assert.equal(await s.closed, undefined);
    },
  },
  {
    name: 'a request carries a Receiver; the reply comes back on the Sender the peer got',
    async run(p) {
      const serving = p.b.accept<{ x: number; reply: Sender<number> }>().then(async (mailbox) => {
        for await (const req of mailbox) {
          assert.ok(req.reply instanceof Sender);
          await req.reply.send(req.x * 2);
          req.reply.close();
        }
      });
      const mailbox = p.a.open<{ x: number; reply: Receiver<number> }>();
      for (let x = 1; x <= 5; x++) {
        const reply = new Receiver<number>();
        await mailbox.send({ x, reply });
        assert.deepEqual(await all(reply), [x * 2]);
      }
      mailbox.close();
      await within(serving, T, 'the server loop');
    },
  },
  {
    name: 'nested channels at depth 3, in alternating directions (a Sender and a Receiver each way)',
    async run(p) {
      const sideA = async () => {
        const top = p.a.open<{ r1: Receiver<{ s2: Receiver<{ r3: Sender<string> }> }> }>();
        const r1 = new Receiver<{ s2: Receiver<{ r3: Sender<string> }> }>();
        await top.send({ r1 });
        top.close();
        const [m1] = await all(r1);
        assert.ok(m1!.s2 instanceof Receiver, 'a Sender sent by b arrives as a Receiver');
        const [m2] = await all(m1!.s2);
        assert.ok(m2!.r3 instanceof Sender, 'a Receiver sent by b arrives as a Sender');
        await m2!.r3.send('deep');
        m2!.r3.close();
        assert.equal(await m2!.r3.closed, undefined);
      };
      const sideB = async () => {
        const top = await p.b.accept<{ r1: Sender<{ s2: Sender<{ r3: Receiver<string> }> }> }>();
        const [m0] = await all(top);
        const s1 = m0!.r1;
        assert.ok(s1 instanceof Sender);
        const s2 = new Sender<{ r3: Receiver<string> }>();
        await s1.send({ s2 });
        s1.close();
        const r3 = new Receiver<string>();
        await s2.send({ r3 });
        s2.close();
        return all(r3);
      };
      const [, deep] = await within(Promise.all([sideA(), sideB()]), T, 'both sides');
      assert.deepEqual(deep, ['deep']);
    },
  },
  {
    name: 'a Sender inside a message streams values to the Receiver the peer got',
    async run(p) {
      const top = p.a.open<{ updates: Sender<number> }>();
      const updates = new Sender<number>();
      const early = updates.send(-1); // before it is bound: waits, then goes first
      await top.send({ updates });
      await early;
      for (let i = 0; i < 10; i++) await updates.send(i);
      updates.close();
      top.close();
      const [m] = await all(await p.b.accept<{ updates: Receiver<number> }>());
      assert.ok(m!.updates instanceof Receiver);
      assert.deepEqual(await all(m!.updates), [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(await updates.closed, undefined);
    },
  },
  {
    name: 'a Readable in a message: 5 MiB arrive byte for byte',
    async run(p) {
      const data = randomBytes(5 * 1024 * 1024);
      const chunks: Buffer[] = [];
      for (let off = 0; off < data.length; off += 100_000) chunks.push(data.subarray(off, off + 100_000));
      const top = p.a.open<{ name: string; body: Readable }>();
      await top.send({ name: 'blob', body: Readable.from(chunks) });
      top.close();
      const [m] = await all(await p.b.accept<{ name: string; body: Readable }>());
      assert.ok(m!.body instanceof Readable);
      const got: Buffer[] = [];
      await within(
        (async () => {
          for await (const c of m!.body) got.push(c as Buffer);
        })(),
        T,
        'the bytes',
      );
      assert.ok(Buffer.concat(got).equals(data), 'bytes differ');
    },
  },
  {
    name: 'a Writable in a message: what the peer writes lands in it, with backpressure',
    async run(p) {
      const data = randomBytes(3 * 1024 * 1024);
      const landed: Buffer[] = [];
      const sink = new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _enc, cb) {
          landed.push(chunk);
          setImmediate(cb); // a slow consumer
        },
      });
      const finished = once(sink, 'finish');
      const top = p.a.open<{ sink: Writable }>();
      await top.send({ sink });
      top.close();
      const [m] = await all(await p.b.accept<{ sink: Writable }>());
      const w = m!.sink;
      assert.ok(w instanceof Writable);
      for (let off = 0; off < data.length; off += 64 * 1024) {
        if (!w.write(data.subarray(off, off + 64 * 1024))) await within(once(w, 'drain'), T, 'drain');
      }
      w.end();
      await within(finished, T, 'the sink to finish');
      assert.ok(Buffer.concat(landed).equals(data), 'bytes differ');
    },
  },
  {
    name: "error(code, message, details) errors the receiver's Observable with CHANNEL_ERROR",
    async run(p) {
      const s = p.a.open<number>();
      await s.send(1);
      s.error('E_TEST', 'it broke', { why: [1, 'two'] });
      s.error('E_AGAIN', 'ignored');
      await assert.rejects(s.send(2), isCode('STREAM_CLOSED'));
      const { values, error } = await collect(await p.b.accept<number>());
      assert.deepEqual(values, [1]);
      assert.ok(isTransportError(error, 'CHANNEL_ERROR'), String(error));
      assert.equal(error.remoteCode, 'E_TEST');
      assert.equal(error.message, 'it broke');
      assert.deepEqual(error.details, { why: [1, 'two'] });
      assert.equal(await s.closed, undefined);
    },
  },
  {
    name: 'a receiver that unsubscribes cancels: the sender sees CHANNEL_CANCELLED on send() and closed',
    async run(p) {
      const s = p.a.open<number>();
      await s.send(0);
      const r = await p.b.accept<number>();
      assert.equal(await firstValueFrom(r), 0); // takes one, then unsubscribes
      const reason = await within(s.closed, T, 'the sender to learn of the cancel');
      assert.ok(isTransportError(reason, 'CHANNEL_CANCELLED'), String(reason));
      await assert.rejects(s.send(1), isCode('CHANNEL_CANCELLED'));
    },
  },
  {
    name: 'cancel() and breaking out of for-await cancel too',
    async run(p) {
      const s1 = p.a.open<number>();
      const s2 = p.a.open<number>();
      await s1.send(1);
      await s2.send(1);
      await s2.send(2);
      const r1 = await p.b.accept<number>();
      const r2 = await p.b.accept<number>();
      r1.cancel();
      for await (const v of r2) {
        assert.equal(v, 1);
        break;
      }
      assert.ok(isTransportError(await within(s1.closed, T, 's1'), 'CHANNEL_CANCELLED'));
      assert.ok(isTransportError(await within(s2.closed, T, 's2'), 'CHANNEL_CANCELLED'));
    },
  },
  {
    name: 'backpressure: a receiver that does not read holds send() pending; its buffer stays bounded',
    async run(p) {
      const size = 16 * 1024;
      const s = p.a.open<Uint8Array>();
      let sent = 0;
      let pending: Promise<void> | undefined;
      for (let i = 0; i < 200 && pending === undefined; i++) {
        const next = s.send(new Uint8Array(size).fill(i));
        if (await staysPending(next, 200)) pending = next;
        else sent++;
      }
      assert.ok(pending, 'send() never became pending');
      // At most the stream window (256 KiB) in flight plus the write high-water mark (256 KiB) queued.
      assert.ok(sent * size <= 512 * 1024 + size, `${sent} sends resolved`);
      const received = p.sockets.b as { bytesReceived?: number; bytesRead?: number };
      const bytesIn = received.bytesReceived ?? received.bytesRead ?? 0;
      assert.ok(bytesIn <= 256 * 1024 + 8 * 1024, `the receiving side holds ${bytesIn} bytes`);
      const counting = p.b.accept<Uint8Array>().then(async (r) => {
        let n = 0;
        for await (const m of r) {
          assert.equal(m[0], n % 256);
          n++;
        }
        return n;
      });
      await within(pending, T, 'the pending send');
      for (let i = sent + 1; i < sent + 21; i++) await s.send(new Uint8Array(size).fill(i));
      s.close();
      assert.equal(await within(counting, T, 'all messages'), sent + 21);
    },
  },
];
