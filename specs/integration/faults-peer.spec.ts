/**
 * A peer that dies mid-work, over real mutual TLS 1.3: the socket of one side is destroyed (no GoAway,
 * nothing closed on the streams) while a call, a subscription, a download or an upload is in flight —
 * the server dying under the client, and the client dying under the server.
 *
 * Every pending call rejects UNAVAILABLE, a subscription errors UNAVAILABLE, a byte stream errors (it
 * never ends as if it were complete), the other side's handlers are aborted and their sources torn
 * down; nothing hangs (every wait is bounded); both multiplexer sessions end with empty stream tables
 * and every counter (pending, served, buffered, connections) is back to 0.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Observable } from 'rxjs';
import { actor, callContext, isRpcError, type Ref, type RpcError } from '../../src/actors/index.js';
import { isTransportError } from '../../src/transport/errors.js';
import type { Session } from '../../src/transport/mux/index.js';
import { type FaultPair, faultPair } from '../support/fault-pair.js';
import { muxSessions } from '../support/fault-probe.js';
import { eventually } from './actors-pair.js';

/** What the server's handlers and sources saw. */
const probe = {
  signals: [] as AbortSignal[],
  teardowns: 0,
  sourcesDestroyed: 0,
  uploaded: 0,
  uploadEnded: undefined as 'completed' | 'failed' | undefined,
};

@actor('victim', { concurrency: 8 })
class Victim {
  ping(): string {
    return 'pong';
  }
  async hold(ms: number): Promise<string> {
    const ctx = callContext();
    probe.signals.push(ctx.signal);
    await sleep(ms, undefined, { signal: ctx.signal });
    return 'held';
  }
  ticks(periodMs: number): Observable<number> {
    return new Observable<number>((s) => {
      let i = 0;
      const t = setInterval(() => s.next(i++), periodMs);
      return () => {
        clearInterval(t);
        probe.teardowns++;
      };
    });
  }
  /** An endless download, 16 KiB a chunk. */
  download(): Readable {
    return endless(() => probe.sourcesDestroyed++);
  }
  async upload(source: Readable): Promise<number> {
    try {
      for await (const chunk of source) probe.uploaded += (chunk as Buffer).length;
      probe.uploadEnded = 'completed';
    } catch {
      probe.uploadEnded = 'failed';
    }
    return probe.uploaded;
  }
}

/** A Readable that never ends; `onDestroy` runs when it is destroyed. */
function endless(onDestroy: () => void): Readable {
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  return new Readable({
    read() {
      setImmediate(() => this.push(chunk));
    },
    destroy(err, callback) {
      onDestroy();
      callback(err);
    },
  });
}

let p: FaultPair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

async function start(): Promise<{ pair: FaultPair; victim: Ref<Victim> }> {
  Object.assign(probe, {
    signals: [],
    teardowns: 0,
    sourcesDestroyed: 0,
    uploaded: 0,
    uploadEnded: undefined,
  });
  p = await faultPair();
  await p.server.register(Victim);
  const victim = p.client.ref<Victim>('victim', p.peer);
  assert.equal(await victim.ping(), 'pong');
  return { pair: p, victim };
}

type Side = 'server' | 'client';

/** Destroys `side`'s socket like a dying process; returns both sides' sessions as they were. */
function kill(pair: FaultPair, side: Side): Session[] {
  const sessions = [...muxSessions(pair.server), ...muxSessions(pair.client)];
  assert.equal(sessions.length, 2, 'one connection, seen from both sides');
  const connections = side === 'server' ? pair.serverConnections : pair.clientConnections;
  connections[0]!.socket.destroy();
  return sessions;
}

/** Both sessions ended with nothing left in their tables; every counter back to 0. */
async function assertAllClear(pair: FaultPair, sessions: Session[]): Promise<void> {
  await Promise.race([Promise.all(sessions.map((s) => s.closed)), sleep(5_000, undefined, { ref: false })]);
  for (const s of sessions) {
    assert.ok(s.isClosed, 'session ended');
    assert.equal(s.streamCount, 0, 'stream table empty');
  }
  await eventually(
    () => pair.server.stats().servedCalls === 0 && pair.server.stats().connections === 0,
    'the server to let go of the calls and the connection',
    5_000,
  );
  const c = pair.client.stats();
  assert.equal(c.pendingCalls, 0, 'no pending call left on the client');
  assert.equal(c.connections, 0);
  assert.equal(pair.server.stats().bufferedItems, 0);
}

const unavailable = (e: unknown) => isRpcError(e, 'UNAVAILABLE');

/** Rejects if `promise` has not settled within `ms`: nothing may hang. */
function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

for (const side of ['server', 'client'] as const) {
  describe(`faults: the ${side} dies mid-work (TLS)`, () => {
    it('mid-call: every pending call rejects UNAVAILABLE; the handlers are aborted', async () => {
      const { pair, victim } = await start();
      const pending = [
        victim.hold(60_000),
        victim.hold(60_000),
        victim.withOptions({ timeoutMs: 30_000 }).hold(60_000),
      ];
      await eventually(() => probe.signals.length === 3, 'three handlers to run');
      const sessions = kill(pair, side);
      for (const call of pending) await assert.rejects(bounded(call, 5_000, 'a pending call'), unavailable);
      await eventually(() => probe.signals.every((s) => s.aborted), 'every handler signal to abort');
      for (const s of probe.signals) assert.equal((s.reason as RpcError).code, 'UNAVAILABLE');
      await assertAllClear(pair, sessions);
    });

    it('mid-subscription: the subscriber errors UNAVAILABLE; the source is torn down', async () => {
      const { pair, victim } = await start();
      let items = 0;
      const ended = new Promise<unknown>((resolve) =>
        victim
          .ticks(2)
          .subscribe({ next: () => items++, error: resolve, complete: () => resolve('completed') }),
      );
      await eventually(() => items >= 3, 'items to flow');
      const sessions = kill(pair, side);
      const end = await bounded(ended, 5_000, 'the subscription');
      assert.ok(unavailable(end), `errors UNAVAILABLE, got ${String(end)}`);
      await eventually(() => probe.teardowns === 1, 'the source to be torn down');
      await assertAllClear(pair, sessions);
    });

    it('mid-download: the byte stream errors, never ends as if complete; the source is destroyed', async () => {
      const { pair, victim } = await start();
      const bytes = (await victim.download()) as Readable;
      let received = 0;
      const ended = new Promise<unknown>((resolve) => {
        bytes.on('data', (c: Buffer) => {
          received += c.length;
        });
        bytes.once('end', () => resolve('ended'));
        bytes.once('error', resolve);
        bytes.once('close', () => setImmediate(() => resolve('closed without error')));
      });
      await eventually(() => received >= 64 * 1024, 'bytes to flow');
      const sessions = kill(pair, side);
      const end = await bounded(ended, 5_000, 'the download');
      assert.ok(isTransportError(end), `errors with a TransportError, got ${String(end)}`);
      await eventually(() => probe.sourcesDestroyed === 1, 'the server source to be destroyed');
      await assertAllClear(pair, sessions);
    });

    it('mid-upload: the call rejects UNAVAILABLE, the handler sees the stream fail; the source is destroyed', async () => {
      const { pair, victim } = await start();
      let clientSourceDestroyed = 0;
      const call = victim.upload(endless(() => clientSourceDestroyed++));
      await eventually(() => probe.uploaded >= 64 * 1024, 'bytes to flow');
      const sessions = kill(pair, side);
      await assert.rejects(bounded(call, 5_000, 'the upload call'), unavailable);
      await eventually(() => probe.uploadEnded !== undefined, 'the handler to see the end');
      assert.equal(probe.uploadEnded, 'failed', 'a cut upload is never a complete one');
      await eventually(() => clientSourceDestroyed === 1, 'the client source to be destroyed');
      await assertAllClear(pair, sessions);
    });
  });
}
