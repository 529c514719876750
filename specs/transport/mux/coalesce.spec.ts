/**
 * Frames per exchange, counted on a real TCP socket pair: a stream opened, written and ended in one tick
 * is one Data frame (SYN|FIN); an answer written and ended in one tick is one Data frame (ACK|FIN), with no
 * separate ACK at the 20 ms deadline and no WindowUpdate for small frames. A write larger than a frame or
 * the window is still split, FIN on its last Data frame. `separateFin` puts FIN in a frame of its own.
 * Receiving: FIN on a Data frame applies after its payload, also when the payload spans socket reads.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Flag, FrameType } from '../../../src/transport/mux/frame.js';
import { ACK_DELAY_MS } from '../../../src/transport/mux/session.js';
import type { Stream } from '../../../src/transport/mux/stream.js';
import { collect, rawPair, sessionPair, tick, until, withTimeout } from './harness.js';
import { WireTap } from './wire-tap.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The callee of the specs: reads the whole request, then answers with `reply(request)` and ends, in one tick. */
function answer(s: Stream, reply: (request: Buffer) => Uint8Array): void {
  const chunks: Buffer[] = [];
  s.listen({
    onData: (c) => void chunks.push(Buffer.from(c)),
    onEnd: () => {
      s.write(reply(Buffer.concat(chunks)));
      s.end();
    },
    onClose() {},
  });
}

describe('mux frame coalescing over TCP', () => {
  it('a call is one Data frame each way: SYN|FIN out, ACK|FIN back, nothing else after the ACK deadline', async () => {
    const pair = await sessionPair('tcp');
    const toServer = new WireTap(pair.sockets[1]);
    const toClient = new WireTap(pair.sockets[0]);
    try {
      pair.server.onStream = (s) => answer(s, (req) => Buffer.concat([Buffer.from('re:'), req]));
      const s = pair.client.open(Uint8Array.of(0x01));
      s.write(Buffer.from('CALL record'));
      s.end();
      const got = await collect(s);
      assert.equal(got.err, undefined);
      assert.equal(got.data.toString('latin1'), 're:\x01CALL record');
      await tick(3 * ACK_DELAY_MS);
      assert.deepEqual(toServer.describe(), ['Data SYN|FIN 12 #1']);
      assert.deepEqual(toClient.describe(), ['Data ACK|FIN 15 #1']);
      assert.equal(pair.client.streamCount, 0);
      assert.equal(pair.server.streamCount, 0);
    } finally {
      await pair.done();
    }
  });

  it('100 calls started in one tick are 100 frames each way', async () => {
    const pair = await sessionPair('tcp');
    const toServer = new WireTap(pair.sockets[1]);
    const toClient = new WireTap(pair.sockets[0]);
    try {
      pair.server.onStream = (s) => answer(s, (req) => req);
      const calls = Array.from({ length: 100 }, (_, i) => {
        const s = pair.client.open(Uint8Array.of(0x01));
        s.write(Buffer.from(`call ${i}`));
        s.end();
        return collect(s);
      });
      const results = await Promise.all(calls);
      for (const [i, r] of results.entries()) assert.equal(r.data.toString('latin1'), `\x01call ${i}`);
      await tick(3 * ACK_DELAY_MS);
      assert.equal(toServer.frames.length, 100, toServer.describe().slice(0, 5).join(', '));
      assert.equal(toClient.frames.length, 100, toClient.describe().slice(0, 5).join(', '));
      assert.ok(toServer.frames.every((f) => f.type === FrameType.Data && f.flags === (Flag.SYN | Flag.FIN)));
      assert.ok(toClient.frames.every((f) => f.type === FrameType.Data && f.flags === (Flag.ACK | Flag.FIN)));
    } finally {
      await pair.done();
    }
  });

  it('a 3 MiB request and answer are split into frames of maxSendFrame, FIN on the last Data frame', async () => {
    const pair = await sessionPair('tcp');
    const toServer = new WireTap(pair.sockets[1]);
    const toClient = new WireTap(pair.sockets[0]);
    try {
      const request = randomBytes(3 * MiB);
      const reply = randomBytes(3 * MiB);
      let received = '';
      pair.server.onStream = (s) =>
        answer(s, (req) => {
          received = sha(req);
          return reply;
        });
      const s = pair.client.open(Uint8Array.of(0x01));
      s.write(request);
      s.end();
      const got = await collect(s);
      assert.equal(got.err, undefined);
      assert.equal(sha(got.data), sha(reply));
      assert.equal(received, sha(Buffer.concat([Uint8Array.of(0x01), request])));
      for (const [tap, first, bytes] of [
        [toServer, Flag.SYN, 3 * MiB + 1],
        [toClient, Flag.ACK, 3 * MiB],
      ] as const) {
        const stream = tap.frames.filter((f) => f.streamId === 1);
        const data = stream.filter((f) => f.type === FrameType.Data);
        // The acceptor's ACK rides on its first frame: a credit for the request when that comes first.
        assert.equal(stream[0]!.flags & ~Flag.FIN, first, 'SYN/ACK on the first frame of the stream');
        assert.ok(stream.slice(1).every((f) => (f.flags & (Flag.SYN | Flag.ACK)) === 0));
        assert.equal(data.at(-1)!.flags & Flag.FIN, Flag.FIN, 'FIN on the last Data frame');
        assert.equal(stream.filter((f) => (f.flags & Flag.FIN) !== 0).length, 1, 'one FIN');
        assert.ok(
          data.every((f) => f.length <= 64 * 1024),
          'no frame above maxSendFrame',
        );
        assert.equal(
          data.reduce((n, f) => n + f.length, 0),
          bytes,
        );
        assert.ok(data.length >= 48, `${data.length} Data frames`);
      }
    } finally {
      await pair.done();
    }
  });

  it('with separateFin, FIN goes in a WindowUpdate of its own, both ways', async () => {
    const pair = await sessionPair('tcp', 'client opens', { separateFin: true });
    const toServer = new WireTap(pair.sockets[1]);
    const toClient = new WireTap(pair.sockets[0]);
    try {
      pair.server.onStream = (s) => answer(s, () => Buffer.from('ok'));
      const s = pair.client.open(Uint8Array.of(0x01));
      s.write(Buffer.from('x'));
      s.end();
      assert.equal((await collect(s)).data.toString(), 'ok');
      await tick(3 * ACK_DELAY_MS);
      assert.deepEqual(toServer.describe(), ['Data SYN 2 #1', 'WindowUpdate FIN 0 #1']);
      assert.deepEqual(toClient.describe(), ['Data ACK 2 #1', 'WindowUpdate FIN 0 #1']);
    } finally {
      await pair.done();
    }
  });

  it('a stream opened and ended without data is one WindowUpdate SYN|FIN; its answer one ACK|FIN', async () => {
    const pair = await sessionPair('tcp');
    const toServer = new WireTap(pair.sockets[1]);
    const toClient = new WireTap(pair.sockets[0]);
    try {
      pair.server.onStream = (s) =>
        s.listen({
          onData() {},
          onEnd: () => s.end(),
          onClose() {},
        });
      const s = pair.client.open();
      s.end();
      assert.equal((await collect(s)).err, undefined);
      await tick(3 * ACK_DELAY_MS);
      assert.deepEqual(toServer.describe(), ['WindowUpdate SYN|FIN 0 #1']);
      assert.deepEqual(toClient.describe(), ['WindowUpdate ACK|FIN 0 #1']);
    } finally {
      await pair.done();
    }
  });

  it('FIN waits for a frame of its own once the stream last frame is written', async () => {
    const pair = await sessionPair('tcp');
    const toServer = new WireTap(pair.sockets[1]);
    try {
      pair.server.onStream = (s) => answer(s, () => new Uint8Array(0));
      const s = pair.client.open(Uint8Array.of(0x01));
      const got = collect(s);
      await until(() => toServer.frames.length === 1, 'the SYN on the wire');
      s.end();
      assert.equal((await got).err, undefined);
      assert.deepEqual(toServer.describe(), ['Data SYN 1 #1', 'WindowUpdate FIN 0 #1']);
    } finally {
      await pair.done();
    }
  });
});

describe('mux receiving FIN on a Data frame', () => {
  it('delivers the payload first, then the end, also when the payload spans socket reads', async () => {
    const { session, raw, done } = await rawPair('tcp', 'server');
    try {
      const events: string[] = [];
      const closed = new Promise<unknown>((resolve) => {
        session.onStream = (s) =>
          s.listen({
            onData: (c) => void events.push(`data ${Buffer.from(c).toString()}`),
            onEnd: () => {
              events.push('end');
              s.end();
            },
            onClose: resolve,
          });
      });
      const header = Buffer.from([0, FrameType.Data, 0, Flag.SYN | Flag.FIN, 0, 0, 0, 1, 0, 0, 0, 6]);
      raw.socket.write(Buffer.concat([header, Buffer.from('abc')]));
      await until(() => events.length > 0, 'the first piece');
      raw.socket.write(Buffer.from('def'));
      assert.equal(await withTimeout(closed, 5_000, 'close'), undefined);
      assert.deepEqual(events, ['data abc', 'data def', 'end']);
      const back = await raw.waitFor((f) => f.streamId === 1, 'our answer');
      assert.equal(back.flags, Flag.ACK | Flag.FIN, 'our ACK and FIN share one frame');
    } finally {
      await done();
    }
  });
});
