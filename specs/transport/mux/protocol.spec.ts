/**
 * The session on the wire, against a hand-driven raw peer: the exact bytes it writes (checked against the
 * vectors of docs/PROTOCOL.md 3.9), how it opens and acknowledges streams, and how it treats bad or late
 * input (protocol errors end the session with GoAway code 1; late frames for closed streams are ignored).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTransportError, type TransportErrorCode } from '../../../src/transport/errors.js';
import { encodeHeader, Flag, FrameType, GoAwayCode } from '../../../src/transport/mux/frame.js';
import { StreamState } from '../../../src/transport/mux/index.js';
import { ACK_DELAY_MS } from '../../../src/transport/mux/session.js';
import { hex, vector } from '../../support/vectors.js';
import { collect, type RawPeer, rawPair, TRANSPORTS, tick, until, withTimeout } from './harness.js';

const isGoAway = (code: number) => (f: { type: number; length: number }) =>
  f.type === FrameType.GoAway && f.length === code;

for (const transport of TRANSPORTS) {
  describe(`mux wire bytes over ${transport}`, () => {
    it('open(preface) as server is a Data SYN frame on stream 2 (mux.data-syn)', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      session.open(Uint8Array.of(0x01));
      const f = await raw.waitFor((x) => x.streamId === 2, 'the SYN');
      assert.equal(hex(f.bytes), hex(vector('mux.data-syn')));
      await done();
    });

    it('end() and reset() write mux.fin and mux.rst; open() without preface is a WindowUpdate SYN', async () => {
      const { session, raw, done } = await rawPair(transport, 'client');
      session.open();
      const s3 = session.open();
      // Once its SYN is on the wire, a FIN has no frame of the stream to ride on: a WindowUpdate of its own.
      await raw.waitFor((x) => x.streamId === 3, 'SYN of stream 3');
      s3.end();
      const fin = await raw.waitFor((x) => x.streamId === 3 && (x.flags & Flag.FIN) !== 0, 'FIN');
      s3.reset();
      const rst = await raw.waitFor((x) => x.streamId === 3 && (x.flags & Flag.RST) !== 0, 'RST');
      const syn1 = raw.frames.find((x) => x.streamId === 1)!;
      assert.equal(
        hex(syn1.bytes),
        hex(encodeHeader({ type: FrameType.WindowUpdate, flags: Flag.SYN, streamId: 1, length: 0 })),
      );
      assert.equal(hex(fin.bytes), hex(vector('mux.fin')));
      assert.equal(hex(rst.bytes), hex(vector('mux.rst')));
      await done();
    });

    it('a stream opened, written and ended in one tick is mux.data-syn-fin; its answer mux.data-ack-fin', async () => {
      const client = await rawPair(transport, 'client');
      const s = client.session.open(Uint8Array.of(0x01));
      s.write(Buffer.from('hi'));
      s.end();
      const call = await client.raw.waitFor((x) => x.streamId === 1, 'the call');
      assert.equal(hex(call.bytes), hex(vector('mux.data-syn-fin')));
      s.reset();
      await client.done();

      const server = await rawPair(transport, 'server');
      server.session.onStream = (t) =>
        t.listen({
          onData() {},
          onEnd() {
            t.write(Buffer.from('ok'));
            t.end();
          },
          onClose() {},
        });
      server.raw.socket.write(vector('mux.data-syn-fin'));
      const reply = await server.raw.waitFor((x) => x.streamId === 1, 'the answer');
      assert.equal(hex(reply.bytes), hex(vector('mux.data-ack-fin')));
      await tick(3 * ACK_DELAY_MS);
      assert.equal(server.raw.frames.length, 1, 'nothing else: no ACK of its own, no WindowUpdate');
      await server.done();
    });

    it('accepts a stream opened with a WindowUpdate SYN whose data comes in later frames', async () => {
      // hashicorp/yamux and libp2p-yamux open this way: SYN alone, then Data frames without flags.
      const { session, raw, done } = await rawPair(transport, 'server');
      const accepted = session.accept();
      raw.send(FrameType.WindowUpdate, Flag.SYN, 1, 0);
      const s = await withTimeout(accepted, 5_000, 'accept');
      const got = collect(s);
      await tick(5);
      raw.send(FrameType.Data, 0, 1, 3, Buffer.from('abc'));
      await tick(5);
      raw.send(FrameType.Data, Flag.FIN, 1, 3, Buffer.from('def'));
      await until(() => s.state === StreamState.RemoteClose, 'the peer half-closed');
      s.end();
      const r = await got;
      assert.equal(r.data.toString(), 'abcdef');
      assert.equal(r.err, undefined);
      await raw.waitFor((f) => f.streamId === 1 && (f.flags & Flag.FIN) !== 0, 'our FIN');
      const ours = raw.frames.filter((f) => f.streamId === 1);
      assert.equal(ours[0]!.flags & Flag.ACK, Flag.ACK, 'acknowledged');
      assert.equal(ours.at(-1)!.flags & Flag.FIN, Flag.FIN);
      await done();
    });

    it("after the peer's GoAway(0) it opens nothing (GO_AWAY) but still serves streams the peer opens", async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      session.onStream = (s) => {
        const chunks: Buffer[] = [];
        s.listen({
          onData: (c) => void chunks.push(Buffer.from(c)),
          onEnd: () => {
            s.write(Buffer.concat(chunks));
            s.end();
          },
          onClose() {},
        });
      };
      raw.socket.write(vector('mux.go-away-normal'));
      await until(() => {
        try {
          session.open().reset();
          return false;
        } catch (e) {
          return isTransportError(e, 'GO_AWAY');
        }
      }, 'GO_AWAY from open()');
      // One socket write: header and payload written apart may be held apart by Nagle past the ACK deadline.
      const header = encodeHeader({
        type: FrameType.Data,
        flags: Flag.SYN | Flag.FIN,
        streamId: 1,
        length: 4,
      });
      raw.socket.write(Buffer.concat([header, Buffer.from('late')]));
      const reply = await raw.waitFor((f) => f.streamId === 1, 'the answer');
      assert.equal(reply.flags & Flag.RST, 0, 'not refused');
      assert.equal(reply.payload.toString(), 'late');
      assert.equal(reply.flags, Flag.ACK | Flag.FIN);
      assert.equal(session.isClosed, false);
      await done();
    });

    it('answers mux.ping-syn with mux.ping-ack, and close() writes mux.go-away-normal then ends', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      raw.socket.write(vector('mux.ping-syn'));
      const pong = await raw.waitFor((f) => f.type === FrameType.Ping, 'pong');
      assert.equal(hex(pong.bytes), hex(vector('mux.ping-ack')));
      await session.close();
      const ga = await raw.waitFor((f) => f.type === FrameType.GoAway, 'GoAway');
      assert.equal(hex(ga.bytes), hex(vector('mux.go-away-normal')));
      assert.equal(await session.closed, undefined);
      await until(() => raw.ended, 'EOF after GoAway');
      await done();
    });

    it('destroy() resets every open stream on the wire (RST), then GoAway(0)', async () => {
      const { session, raw, done } = await rawPair(transport, 'client');
      session.open(Uint8Array.of(1));
      session.open(Uint8Array.of(1));
      await raw.waitFor((f) => f.streamId === 3, 'both SYNs');
      const from = raw.frames.length;
      session.destroy();
      const ga = await raw.waitFor((f) => f.type === FrameType.GoAway, 'GoAway', from);
      assert.equal(ga.length, GoAwayCode.Normal);
      const tail = raw.frames.slice(from).map((f) => [f.type, f.flags, f.streamId]);
      assert.deepEqual(tail, [
        [FrameType.WindowUpdate, Flag.RST, 1],
        [FrameType.WindowUpdate, Flag.RST, 3],
        [FrameType.GoAway, 0, 0],
      ]);
      await done();
    });

    it('acknowledges an inbound stream with a bigger window in one WindowUpdate (mux.window-update-ack)', async () => {
      const { session, raw, done } = await rawPair(transport, 'client', { streamWindow: 512 * 1024 });
      session.onStream = (s) => s.listen({ onData() {}, onEnd() {}, onClose() {} });
      raw.send(FrameType.WindowUpdate, Flag.SYN, 2, 0);
      const ack = await raw.waitFor((f) => f.streamId === 2, 'ACK');
      assert.equal(hex(ack.bytes), hex(vector('mux.window-update-ack')));
      await done();
    });

    it('puts the ACK on the first Data frame when the acceptor answers at once', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      session.onStream = (s) => {
        s.listen({ onData() {}, onEnd() {}, onClose() {} });
        s.write(Buffer.from('hi'));
      };
      raw.send(FrameType.WindowUpdate, Flag.SYN, 1, 0);
      const f = await raw.waitFor((x) => x.streamId === 1, 'first frame on stream 1');
      assert.equal(f.type, FrameType.Data);
      assert.equal(f.flags, Flag.ACK);
      assert.equal(f.payload.toString(), 'hi');
      await tick(50);
      assert.equal(raw.frames.filter((x) => x.streamId === 1).length, 1, 'no separate ACK frame');
      await done();
    });

    it(`acknowledges a silent stream at the ${ACK_DELAY_MS} ms deadline, but not one reset before it`, async () => {
      const { session, raw, done } = await rawPair(transport, 'client');
      session.onStream = (s) => s.listen({ onData() {}, onEnd() {}, onClose() {} });
      raw.send(FrameType.WindowUpdate, Flag.SYN, 2, 0);
      raw.send(FrameType.WindowUpdate, Flag.SYN, 4, 0);
      raw.send(FrameType.WindowUpdate, Flag.RST, 4, 0);
      const ack = await raw.waitFor((f) => f.streamId === 2, 'ACK of stream 2');
      assert.equal(ack.type, FrameType.WindowUpdate);
      assert.equal(ack.flags, Flag.ACK);
      await tick(3 * ACK_DELAY_MS);
      assert.deepEqual(
        raw.frames.filter((f) => f.streamId === 4),
        [],
        'nothing is sent for a stream that was reset before its ACK went out',
      );
      assert.equal(session.streamCount, 1);
      await done();
    });

    it('coalesces the frames of one tick into one socket write, merging writes on one stream', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      const writes: number[] = [];
      raw.socket.on('data', (c: Buffer) => writes.push(c.length));
      const a = session.open(Uint8Array.of(1));
      const b = session.open(Uint8Array.of(2));
      for (let i = 0; i < 10; i++) {
        a.write(Buffer.from('a'));
        b.write(Buffer.from('b'));
      }
      a.write(Buffer.from('xyz'));
      a.write(Buffer.from('!'));
      await raw.waitFor((f) => f.streamId === 2 && f.payload.toString().endsWith('!'), 'last frame');
      assert.equal(writes.length, 1, `one socket write (got ${writes.length})`);
      const last = raw.frames.at(-1)!;
      assert.equal(last.payload.toString(), 'xyz!', 'consecutive writes on one stream share a frame');
      await done();
    });
  });

  describe(`mux protocol errors over ${transport}`, () => {
    const cases: [string, (raw: RawPeer) => void, TransportErrorCode][] = [
      [
        'a bad version',
        (r) => r.socket.write(Buffer.from('010100010000000100000000', 'hex')),
        'PROTOCOL_ERROR',
      ],
      ['an unknown frame type', (r) => r.send(4, 0, 0, 0), 'PROTOCOL_ERROR'],
      ['a SYN with our parity', (r) => r.send(FrameType.WindowUpdate, Flag.SYN, 2, 0), 'PROTOCOL_ERROR'],
      [
        'a SYN for an open stream',
        (r) => {
          r.send(FrameType.WindowUpdate, Flag.SYN, 1, 0);
          r.send(FrameType.WindowUpdate, Flag.SYN, 1, 0);
        },
        'PROTOCOL_ERROR',
      ],
      [
        'a frame for a stream never opened',
        (r) => r.send(FrameType.Data, 0, 7, 1, Uint8Array.of(1)),
        'PROTOCOL_ERROR',
      ],
      ['a Data frame on stream 0', (r) => r.send(FrameType.Data, 0, 0, 0), 'PROTOCOL_ERROR'],
      ['a Ping on a stream', (r) => r.send(FrameType.Ping, Flag.SYN, 1, 0), 'PROTOCOL_ERROR'],
      ['a GoAway on a stream', (r) => r.send(FrameType.GoAway, 0, 1, 0), 'PROTOCOL_ERROR'],
      [
        'Data after FIN',
        (r) => {
          r.send(FrameType.WindowUpdate, Flag.SYN | Flag.FIN, 1, 0);
          r.send(FrameType.Data, 0, 1, 1, Uint8Array.of(1));
        },
        'PROTOCOL_ERROR',
      ],
      [
        'a send window pushed past 2^32-1',
        (r) => {
          r.send(FrameType.WindowUpdate, Flag.SYN, 1, 0);
          r.send(FrameType.WindowUpdate, 0, 1, 0xffffffff);
        },
        'PROTOCOL_ERROR',
      ],
    ];
    for (const [name, act, code] of cases) {
      it(`${name}: GoAway(1) and the session closes with ${code}`, async () => {
        const { session, raw, done } = await rawPair(transport, 'server');
        session.onStream = (s) => s.listen({ onData() {}, onEnd() {}, onClose() {} });
        act(raw);
        await raw.waitFor(isGoAway(GoAwayCode.ProtocolError), 'GoAway(1)');
        const err = await withTimeout(session.closed, 5_000, 'closed');
        assert.ok(isTransportError(err, code), String(err));
        assert.equal(session.streamCount, 0);
        await done();
      });
    }

    it('ignores late frames for streams that have closed, and unknown flag bits', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      const closed: unknown[] = [];
      session.onStream = (s) => s.listen({ onData() {}, onEnd() {}, onClose: (e) => void closed.push(e) });
      raw.send(FrameType.WindowUpdate, Flag.SYN, 1, 0);
      raw.send(FrameType.WindowUpdate, Flag.RST, 1, 0);
      raw.send(FrameType.Data, 0, 1, 3, Buffer.from('abc'));
      raw.send(FrameType.WindowUpdate, Flag.FIN, 1, 100);
      const own = session.open();
      own.reset();
      raw.send(FrameType.Data, 0, 2, 2, Buffer.from('zz'));
      raw.send(FrameType.WindowUpdate, Flag.SYN | 0x100, 3, 0);
      raw.send(FrameType.Ping, Flag.SYN | 0x8000, 0, 9);
      await raw.waitFor((f) => f.type === FrameType.Ping && f.length === 9, 'pong');
      assert.equal(session.isClosed, false);
      assert.equal(closed.length, 1);
      assert.ok(isTransportError(closed[0], 'STREAM_RESET'));
      await done();
    });

    it('a Ping ACK nobody asked for is ignored', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      raw.send(FrameType.Ping, Flag.ACK, 0, 12345);
      raw.socket.write(vector('mux.ping-syn'));
      await raw.waitFor((f) => f.type === FrameType.Ping, 'pong');
      assert.equal(session.isClosed, false);
      await done();
    });

    it('GoAway(1) from the peer ends the session with GO_AWAY and remoteCode "1", sending no GoAway back', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      raw.send(FrameType.WindowUpdate, Flag.SYN, 1, 0);
      const s = await session.accept();
      const got = collect(s);
      raw.socket.write(vector('mux.go-away-protocol-error'));
      const err = await withTimeout(session.closed, 5_000, 'closed');
      assert.ok(isTransportError(err, 'GO_AWAY'));
      assert.equal(err.remoteCode, '1');
      assert.ok(isTransportError((await got).err, 'GO_AWAY'));
      assert.equal(raw.frames.filter((f) => f.type === FrameType.GoAway).length, 0);
      await done();
    });

    it('GoAway(0) then EOF is a clean close; EOF without GoAway or inside a frame is CONNECTION_LOST', async () => {
      for (const [bytes, expected] of [
        [vector('mux.go-away-normal'), undefined],
        [Buffer.alloc(0), 'CONNECTION_LOST'],
        [Buffer.concat([vector('mux.go-away-normal'), Buffer.from('0000', 'hex')]), 'CONNECTION_LOST'],
      ] as const) {
        const { session, raw, done } = await rawPair(transport, 'server');
        raw.socket.end(bytes);
        const err = await withTimeout(session.closed, 5_000, 'closed');
        if (expected === undefined) assert.equal(err, undefined);
        else assert.ok(isTransportError(err, expected), String(err));
        await done();
      }
    });

    it('a listener that throws resets only its stream (INTERNAL_ERROR), and the session goes on', async () => {
      const { session, raw, done } = await rawPair(transport, 'server');
      let closeErr: unknown;
      session.onStream = (s) =>
        s.listen({
          onData() {
            throw new Error('consumer bug');
          },
          onEnd() {},
          onClose: (e) => {
            closeErr = e;
          },
        });
      raw.send(FrameType.Data, Flag.SYN, 1, 1, Uint8Array.of(1));
      await raw.waitFor((f) => f.streamId === 1 && (f.flags & Flag.RST) !== 0, 'RST');
      assert.ok(isTransportError(closeErr, 'INTERNAL_ERROR'));
      assert.equal(session.isClosed, false);
      assert.equal(session.streamCount, 0);
      await done();
    });
  });
}
