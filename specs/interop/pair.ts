/**
 * One interop scenario's setup: a TCP pair on 127.0.0.1 with our Session on one socket and the reference
 * libp2p-yamux on the other, in the roles asked for; and how to read the end of a reference stream.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { type MuxConfig, type Role, Session } from '../../src/transport/mux/index.js';
import { startTheirs, type Theirs, tcpPair, withTimeout, type YamuxStream } from '../support/libp2p-yamux.js';

export const MiB = 1024 * 1024;
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (chunks: Uint8Array[]): string => Buffer.concat(chunks).toString('utf8');

export interface Pair {
  ours: Session;
  theirs: Theirs;
  /** Assert our table is empty, close both sides gracefully, release the sockets. */
  finish(): Promise<void>;
}

/**
 * Our Session (keepalive off unless `config` turns it on) in `ourRole`, the reference peer in the other.
 * `separateFin` is on unless `config` turns it off: libp2p-yamux 8 drops the payload of a Data frame with
 * FIN (specs/interop/libp2p-yamux-fin.spec.ts).
 */
export async function connect(ourRole: Role, config: Partial<MuxConfig> = {}): Promise<Pair> {
  const [client, server, done] = await tcpPair();
  const [ourSocket, theirSocket]: [Socket, Socket] =
    ourRole === 'client' ? [client, server] : [server, client];
  const ours = new Session(ourSocket, ourRole, { keepAliveIntervalMs: 0, separateFin: true, ...config });
  const theirs = startTheirs(theirSocket, ourRole === 'client' ? 'server' : 'client');
  return {
    ours,
    theirs,
    async finish() {
      try {
        assert.equal(ours.streamCount, 0, 'our stream table is empty at the end of the scenario');
        await withTimeout(ours.close(), 10_000, 'our graceful close');
        assert.equal(await withTimeout(ours.closed, 5_000, 'our closed promise'), undefined);
      } finally {
        ours.destroy();
        await theirs.close().catch(() => {});
        await done();
      }
    },
  };
}

/**
 * How the reference stream ended: its final status ('closed' for a clean close, 'reset' when the peer reset
 * it, 'aborted' when it was aborted locally or by its session). Resolves at once if it has already ended
 * (a SYN and an RST in one TCP read end the stream before a spec can attach a listener).
 */
export function theirEnd(stream: YamuxStream): Promise<string> {
  if (stream.status !== 'open' && stream.status !== 'closing') return Promise.resolve(stream.status);
  return withTimeout(
    new Promise((resolve) => stream.addEventListener('close', () => resolve(stream.status), { once: true })),
    10_000,
    `close of their stream ${stream.streamId}`,
  );
}
