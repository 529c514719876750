/**
 * Proves the reference harness (specs/support/libp2p-yamux.ts) before it is used to judge our multiplexer:
 * libp2p-yamux talks to itself over a real TCP socket, in both directions, with data, half-close, reset and ping.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { collect, echo, sendAll, startTheirs, tcpPair, withTimeout } from '../support/libp2p-yamux.js';

function sha256(chunks: Uint8Array[] | Uint8Array): string {
  const h = createHash('sha256');
  for (const c of Array.isArray(chunks) ? chunks : [chunks]) h.update(c);
  return h.digest('hex');
}

async function pair() {
  const [a, b, done] = await tcpPair();
  const client = startTheirs(a, 'client');
  const server = startTheirs(b, 'server');
  const stop = async (): Promise<void> => {
    await client.close();
    await server.close().catch(() => {});
    await done();
  };
  return { client, server, stop };
}

describe('libp2p-yamux harness over TCP', () => {
  it('echoes 2 MiB on streams opened from each side', async () => {
    const { client, server, stop } = await pair();
    try {
      const data = randomBytes(2 * 1024 * 1024);
      for (const [opener, acceptor] of [
        [client, server],
        [server, client],
      ] as const) {
        const s = await opener.muxer.createStream();
        const accepted = acceptor.nextStream();
        const received = collect(s);
        await sendAll(s, data);
        echo(await accepted);
        await s.close();
        assert.equal(sha256(await received), sha256(data));
        assert.equal(s.streamId % 2, opener === client ? 1 : 0);
      }
    } finally {
      await stop();
    }
  });

  it('carries data after a half-close, and reports a reset to the peer', async () => {
    const { client, server, stop } = await pair();
    try {
      const s = await client.muxer.createStream();
      s.send(new Uint8Array([1, 2, 3]));
      await s.close();
      const peer = await server.nextStream();
      assert.deepEqual(Buffer.concat(await collect(peer)), Buffer.from([1, 2, 3]));
      const back = collect(s);
      peer.send(new Uint8Array([4, 5]));
      await peer.close();
      assert.deepEqual(Buffer.concat(await back), Buffer.from([4, 5]));

      const r = await server.muxer.createStream();
      r.send(new Uint8Array([9]));
      const rPeer = await client.nextStream();
      const closed = withTimeout(
        new Promise<Error | undefined>((resolve) => rPeer.addEventListener('close', (e) => resolve(e.error))),
        5_000,
        'reset',
      );
      r.abort(new Error('test reset'));
      const err = await closed;
      assert.equal(err?.name, 'StreamResetError');
    } finally {
      await stop();
    }
  });

  it('pings both ways', async () => {
    const { client, server, stop } = await pair();
    try {
      assert.ok((await withTimeout(client.muxer.ping(), 5_000, 'ping')) >= 0);
      assert.ok((await withTimeout(server.muxer.ping(), 5_000, 'ping')) >= 0);
    } finally {
      await stop();
    }
  });
});
