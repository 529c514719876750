/**
 * After an immediate close (`destroy()`), a session ends its socket and waits LINGER_MS for the peer to
 * hang up before destroying it (docs/ERRORS.md 6.6), over TCP: a peer that hangs up is let go at once;
 * one that keeps its half open is cut off after LINGER_MS, not before, and not never.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { describe, it } from 'node:test';
import { LINGER_MS, Session } from '../../../src/transport/mux/session.js';

/** Our socket, and the peer's end: `allowHalfOpen` keeps the peer's half open after our FIN. */
async function sockets(
  allowHalfOpen: boolean,
): Promise<{ ours: Socket; peer: Socket; done: () => Promise<void> }> {
  const server = createServer({ allowHalfOpen });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const ours = tcpConnect(port, '127.0.0.1');
  await once(ours, 'connect');
  const [peer] = await accepted;
  peer.on('data', () => {}); // reads what we send, answers nothing
  peer.on('error', () => {});
  return {
    ours,
    peer,
    async done() {
      ours.destroy();
      peer.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** ms from `destroy()` until our socket has closed. */
async function closeTime(allowHalfOpen: boolean): Promise<{ ms: number; peerSawEnd: boolean }> {
  const s = await sockets(allowHalfOpen);
  try {
    const session = new Session(s.ours, 'client', { keepAliveIntervalMs: 0 });
    let peerSawEnd = false;
    s.peer.once('end', () => {
      peerSawEnd = true;
    });
    const closed = once(s.ours, 'close');
    const started = performance.now();
    session.destroy();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the socket never closed')), LINGER_MS + 3000);
      }),
    ]).finally(() => clearTimeout(timer));
    await session.closed;
    return { ms: performance.now() - started, peerSawEnd };
  } finally {
    await s.done();
  }
}

describe('mux session: lingering after destroy()', () => {
  it(`LINGER_MS: a peer that keeps its half open is cut off after ${LINGER_MS} ms; one that hangs up, at once`, async () => {
    const [stubborn, polite] = await Promise.all([closeTime(true), closeTime(false)]);
    assert.ok(stubborn.peerSawEnd && polite.peerSawEnd, 'the peer got our FIN at once');
    assert.ok(stubborn.ms >= LINGER_MS - 5, `cut off after ${stubborn.ms} ms, before LINGER_MS`);
    assert.ok(stubborn.ms < LINGER_MS + 1000, `cut off after ${stubborn.ms} ms`);
    assert.ok(polite.ms < LINGER_MS / 2, `a peer that hung up was let go after ${polite.ms} ms`);
  });
});
