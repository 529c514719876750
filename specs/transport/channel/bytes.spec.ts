/**
 * Byte streams (src/transport/channel/bytes.ts): how a received Readable hands its chunks over, and that a
 * reader that stops reading stops the sending Readable. The byte-for-byte scenarios (a Readable or a
 * Writable in a message, over memory and TCP) are in scenarios.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { all, T } from './helpers.js';
import { makePair, type Pair, type PairOptions, waitFor, within } from './pair.js';

const tick = () => new Promise((r) => setImmediate(r));

/** Run `body` on a fresh in-memory pair; the pair must end with no streams left. */
async function withPair(opts: PairOptions, body: (p: Pair) => Promise<void>): Promise<void> {
  const p = await makePair('memory', 'client-opens', opts);
  try {
    await body(p);
  } catch (err) {
    await p.teardown();
    throw err;
  }
  await p.finish();
}

/** Send `readable` in a message from a to b; resolves with the Readable b gets. */
async function sendReadable(p: Pair, readable: Readable): Promise<Readable> {
  const top = p.a.open<{ body: Readable }>();
  await top.send({ body: readable });
  top.close();
  const [m] = await all(await within(p.b.accept<{ body: Readable }>(), T, 'the channel'));
  return m!.body;
}

/** A Readable of `data` in `size`-byte chunks that records how many bytes it was asked for. */
function counted(data: Buffer, size: number): { readable: Readable; pulled: () => number } {
  let off = 0;
  const readable = new Readable({
    read() {
      if (off >= data.length) {
        this.push(null);
        return;
      }
      const end = Math.min(data.length, off + size);
      const chunk = data.subarray(off, end);
      off = end;
      this.push(chunk);
    },
  });
  return { readable, pulled: () => off };
}

describe('byte streams: a received Readable', () => {
  it('hands each arriving chunk over whole, never joined to the next, to a slow for-await reader', () =>
    withPair({ maxChunk: 1000 }, async (p) => {
      const data = randomBytes(512 * 1024);
      const body = await sendReadable(p, Readable.from([data]));
      const got: Buffer[] = [];
      await within(
        (async () => {
          for await (const c of body) {
            got.push(c as Buffer);
            await tick(); // slow: more pieces arrive meanwhile
          }
        })(),
        T,
        'the bytes',
      );
      assert.ok(Buffer.concat(got).equals(data), 'bytes differ');
      // The duplex delivers pieces of at most 1000 bytes; a chunk above that was joined (copied).
      const largest = Math.max(...got.map((c) => c.length));
      assert.ok(largest <= 1000, `a chunk of ${largest} bytes was handed over`);
    }));

  it("serves read(n) of any size (the 'readable' event), byte for byte", () =>
    withPair({ maxChunk: 3000 }, async (p) => {
      const data = randomBytes(300 * 1024 + 17);
      const body = await sendReadable(p, Readable.from([data]));
      const got: Buffer[] = [];
      const sizes = [1, 7000, 5, 70_000, 4096];
      let i = 0;
      body.on('readable', () => {
        for (;;) {
          const c = body.read(sizes[i++ % sizes.length]) as Buffer | null;
          if (c === null) break;
          got.push(c);
        }
      });
      await within(once(body, 'end'), T, 'the end');
      // read(n) returns null until n bytes are there, except at the end: the tail is read whole.
      const tail = body.read() as Buffer | null;
      if (tail !== null) got.push(tail);
      assert.ok(Buffer.concat(got).equals(data), 'bytes differ');
    }));

  it('pipes into a slow Writable with pipeline(), byte for byte', () =>
    withPair({ maxChunk: 5000 }, async (p) => {
      const data = randomBytes(1024 * 1024);
      const body = await sendReadable(p, Readable.from([data]));
      const got: Buffer[] = [];
      const sink = new Writable({
        highWaterMark: 8 * 1024,
        write(chunk: Buffer, _enc, cb) {
          got.push(chunk);
          setImmediate(cb); // slow
        },
      });
      await within(pipeline(body, sink), T, 'the pipeline');
      assert.ok(Buffer.concat(got).equals(data), 'bytes differ');
    }));

  it('that is not read stops the sending Readable at the stream window and write high-water mark', () =>
    withPair({}, async (p) => {
      const size = 16 * 1024;
      const data = randomBytes(8 * 1024 * 1024);
      const { readable, pulled } = counted(data, size);
      const body = await sendReadable(p, readable);
      // Let it run until it stalls: no more bytes pulled over several ticks.
      let last = -1;
      for (let i = 0; i < 200 && pulled() !== last; i++) {
        last = pulled();
        for (let k = 0; k < 5; k++) await tick();
      }
      // Window (256 KiB) in flight + write high-water mark (256 KiB) queued + the sender's Readable buffer
      // (16 KiB) + a chunk; 8 MiB if nothing held it back.
      const bound = 512 * 1024 + 2 * size;
      assert.ok(pulled() <= bound, `the source was pulled for ${pulled()} bytes (bound ${bound})`);
      assert.ok(pulled() < data.length, 'the whole source was pulled');
      const got: Buffer[] = [];
      await within(
        (async () => {
          for await (const c of body) got.push(c as Buffer);
        })(),
        T,
        'the bytes',
      );
      assert.ok(Buffer.concat(got).equals(data), 'bytes differ');
    }));

  it('destroyed by its reader resets the stream: the sending Readable is destroyed', () =>
    withPair({}, async (p) => {
      const { readable } = counted(randomBytes(4 * 1024 * 1024), 64 * 1024);
      const body = await sendReadable(p, readable);
      const first = await within(
        new Promise<Buffer>((resolve) => body.once('data', (c: Buffer) => resolve(c))),
        T,
        'a chunk',
      );
      assert.ok(first.length > 0);
      body.destroy();
      await within(once(readable, 'close'), T, 'the source to close');
      assert.ok(readable.destroyed);
      await waitFor(() => p.a.mux.streamCount <= 1 && p.b.mux.streamCount <= 1, T, 'the byte stream to go');
    }));
});
