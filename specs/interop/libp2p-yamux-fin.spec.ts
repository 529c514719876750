/**
 * Interop, FIN on a Data frame: why the libp2p-yamux interop runs with `separateFin`.
 *
 * yamux lets FIN ride on a Data frame with a payload, the payload first (PROTOCOL.md 3.3, 3.4).
 * @chainsafe/libp2p-yamux 8.0.1 applies a Data frame's flags before its payload:
 * - on a stream whose own write side it has closed, the FIN closes the stream and the payload that came
 *   with it is dropped (a request answered with one Data frame ACK|FIN gets no answer);
 * - on a stream it still writes to, the end comes before the payload: an async iterator (how a libp2p
 *   protocol handler reads) ends at the FIN and never sees the payload.
 * These specs pin that, with a wire tap proving the single frame was sent (so a fixed release shows up
 * here), and show that `separateFin` (FIN in a WindowUpdate of its own) makes the same exchanges work.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Role } from '../../src/transport/mux/index.js';
import { collect, toBytes, withTimeout } from '../support/libp2p-yamux.js';
import { WireTap } from '../transport/mux/wire-tap.js';
import { receive } from './ours.js';

import { connect, enc, text } from './pair.js';

/** `connect`, with a tap on the socket the reference peer reads. */
async function tapped(ourRole: Role, separateFin: boolean) {
  const pair = await connect(ourRole, { separateFin });
  return { ...pair, tap: new WireTap(pair.theirs.conn.socket) };
}

describe('libp2p-yamux 8.0.1 and FIN on a Data frame', () => {
  for (const separateFin of [false, true]) {
    it(`a request they closed, answered by us in one tick: separateFin ${separateFin}`, async () => {
      const { ours, theirs, tap, finish } = await tapped('server', separateFin);
      try {
        const t = await theirs.muxer.createStream();
        const back = collect(t);
        t.send(enc('ping?'));
        await t.close();
        const s = await withTimeout(ours.accept(), 5_000, 'our accept');
        const r = receive(s);
        assert.equal(text(await r.data), 'ping?');
        const from = tap.frames.length;
        s.write(enc('pong!'));
        s.end();
        assert.equal(await r.closed, undefined);
        const answer = text(await back);
        if (separateFin) {
          assert.deepEqual(tap.describe(from, s.id), ['Data ACK 5 #1', 'WindowUpdate FIN 0 #1']);
          assert.equal(answer, 'pong!');
        } else {
          assert.deepEqual(tap.describe(from, s.id), ['Data ACK|FIN 5 #1']);
          assert.equal(answer, '', 'libp2p-yamux dropped the payload of the Data frame with FIN');
        }
      } finally {
        await finish();
      }
    });

    it(`a stream we open, write and end in one tick: separateFin ${separateFin}`, async () => {
      const { ours, theirs, tap, finish } = await tapped('client', separateFin);
      try {
        // Their consumer iterates from the moment the stream exists (the muxer's 'stream' event comes
        // while it handles the SYN), as a libp2p protocol handler reads.
        const chunks: string[] = [];
        const iterated = new Promise<void>((resolve, reject) =>
          theirs.muxer.addEventListener(
            'stream',
            (e) => {
              (async () => {
                for await (const c of e.detail) chunks.push(text([toBytes(c)]));
                await e.detail.close();
              })().then(resolve, reject);
            },
            { once: true },
          ),
        );
        const s = ours.open(enc('a'));
        s.write(enc('bc'));
        s.end();
        const back = receive(s);
        await withTimeout(iterated, 5_000, 'the end of their iteration');
        assert.equal(await back.closed, undefined);
        if (separateFin) {
          assert.deepEqual(tap.describe(0, s.id), ['Data SYN 3 #1', 'WindowUpdate FIN 0 #1']);
          assert.deepEqual(chunks, ['abc']);
        } else {
          assert.deepEqual(tap.describe(0, s.id), ['Data SYN|FIN 3 #1']);
          assert.deepEqual(chunks, [], 'their iterator ended at the FIN, before the payload');
        }
      } finally {
        await finish();
      }
    });
  }
});
