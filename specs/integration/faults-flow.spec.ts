/**
 * Flow-control faults at the actor level, over mutual TLS 1.3.
 *
 * - Slow subscribers: eight subscriptions on one connection stop reading while their sources push as
 *   fast as they can. (actors-streams.spec.ts covers one subscriber under each overflow policy; this is
 *   several at once, with the other calls on the same connection.) The server's memory stays bounded by
 *   the windows, the connection's byte budget and the policy, however long it runs — items buffered at
 *   most 8 x the method's buffer (plus the other sources' latest unchecked bursts), bytes queued in the
 *   multiplexer at most the byte budget (streamBufferBytes) plus 8 x its write high-water mark and an
 *   item — the same connection keeps answering other calls, and cancelling frees everything.
 * - A peer that ignores the window: an authorized client sends more Data on a stream than its window
 *   allows. It gets GoAway(1) and its connection is closed (WINDOW_EXCEEDED) — while another client of
 *   the same server keeps calling and streaming on its own connection, untouched.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Observable, Observable as Rx } from 'rxjs';
import { actor, method } from '../../src/actors/index.js';
import { dialTls } from '../../src/transport/connection/index.js';
import {
  encodeHeader,
  Flag,
  FrameType,
  GoAwayCode,
  INITIAL_STREAM_WINDOW,
  defaultConfig as muxDefaults,
} from '../../src/transport/mux/index.js';
import { FrameReader, Verdict } from '../../src/transport/mux/reader.js';
import { type FaultPair, faultPair } from '../support/fault-pair.js';
import { openStreams, queuedBytes } from '../support/fault-probe.js';
import { eventually } from './actors-pair.js';

const BUFFER = 16;
const ITEM = 1024;
const SUBSCRIBERS = 8;
/** Items a source pushes in one synchronous burst. */
const BURST = 100;

const probe = { subscribed: 0, teardowns: 0, maxBuffered: 0, maxQueued: 0 };
let pair: FaultPair | undefined;

@actor('feed', { concurrency: 32 })
class Feed {
  ping(): string {
    return 'pong';
  }
  /** Endless items of ITEM bytes, BURST per setImmediate; samples the server's bounds at each batch. */
  @method({ buffer: BUFFER, overflow: 'drop-oldest' })
  flood(): Observable<string> {
    const pad = 'x'.repeat(ITEM);
    return new Rx<string>((s) => {
      probe.subscribed++;
      let i = 0;
      let timer: NodeJS.Immediate | undefined;
      const batch = () => {
        // The pump applies its bound once the connection took what it could of a burst (a setImmediate
        // queued during the burst, which runs before this source's next batch). The other sources'
        // latest bursts may not have been checked yet: at most BURST each on top of their bound.
        probe.maxBuffered = Math.max(probe.maxBuffered, pair!.server.stats().bufferedItems);
        probe.maxQueued = Math.max(probe.maxQueued, queuedBytes(pair!.server));
        for (let n = 0; n < BURST && !s.closed; n++) s.next(`${i++} ${pad}`);
        timer = setImmediate(batch);
      };
      batch();
      return () => {
        clearImmediate(timer);
        probe.teardowns++;
      };
    });
  }
  ticks(): Observable<number> {
    return new Rx<number>((s) => {
      let i = 0;
      const t = setInterval(() => s.next(i++), 2);
      return () => clearInterval(t);
    });
  }
}

/** The connection's byte budget for push streams in this spec (streamBufferBytes). */
const BUDGET = 1024 * 1024;

afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

describe('faults: slow subscribers (TLS)', () => {
  it(`${SUBSCRIBERS} subscribers that stop reading: server memory bounded, the connection keeps serving, cancel frees all`, async (t) => {
    Object.assign(probe, { subscribed: 0, teardowns: 0, maxBuffered: 0, maxQueued: 0 });
    pair = await faultPair({ server: { config: { streamBufferBytes: BUDGET } } });
    await pair.server.register(Feed);
    const feed = pair.client.ref<Feed>('feed', pair.peer);
    assert.equal(await feed.ping(), 'pong');
    const baseline = openStreams(pair.server);

    const readers = Array.from({ length: SUBSCRIBERS }, () => feed.flood()[Symbol.asyncIterator]());
    for (const r of readers) assert.match((await r.next()).value as string, /^\d+ x/);
    // Nobody reads any more: each window fills, then each buffer, then the policy drops.
    await eventually(
      () => pair!.server.stats().droppedItems > 10_000,
      'the sources to run far ahead',
      10_000,
    );
    for (let i = 0; i < 20; i++)
      assert.equal(await feed.ping(), 'pong', 'other calls on the same connection');
    await sleep(50);

    const hwm = muxDefaults().writeHighWaterMark;
    const itemBytes = ITEM + 16;
    const itemBound = SUBSCRIBERS * BUFFER + (SUBSCRIBERS - 1) * BURST;
    assert.ok(probe.maxBuffered <= itemBound, `items buffered: ${probe.maxBuffered} (bound ${itemBound})`);
    const byteBound = BUDGET + SUBSCRIBERS * (hwm + itemBytes);
    assert.ok(
      probe.maxQueued <= byteBound,
      `bytes queued in the multiplexer: ${probe.maxQueued} (bound ${byteBound})`,
    );
    t.diagnostic(
      `${SUBSCRIBERS} stalled subscribers: at most ${probe.maxBuffered} items buffered, ${probe.maxQueued} bytes ` +
        `queued; ${pair.server.stats().droppedItems} items dropped by the policy`,
    );

    for (const r of readers) await r.return!();
    await eventually(() => probe.teardowns === SUBSCRIBERS, 'every source to be torn down');
    await eventually(
      () => pair!.server.stats().bufferedItems === 0 && pair!.server.stats().servedCalls === 0,
      'the buffers to empty',
    );
    await eventually(() => openStreams(pair!.server) === baseline, 'the stream table back to the mailbox');
    assert.equal(queuedBytes(pair.server), 0);
  });
});

describe('faults: a peer that ignores the window (TLS)', () => {
  it('gets GoAway(1) and loses its connection; another client of the same server is untouched', async () => {
    pair = await faultPair();
    await pair.server.register(Feed);
    const feed = pair.client.ref<Feed>('feed', pair.peer);
    assert.equal(await feed.ping(), 'pong');

    // The good client keeps calling and streaming through the attack.
    let ticks = 0;
    const subscription = feed.ticks().subscribe({ next: () => ticks++ });
    let pings = 0;
    let failure: unknown;
    let stop = false;
    const pinging = (async () => {
      while (!stop) {
        try {
          assert.equal(await feed.ping(), 'pong');
          pings++;
        } catch (err) {
          failure = err;
          return;
        }
      }
    })();
    await eventually(() => pings > 10 && ticks > 3, 'the good client to be busy');

    // The attacker: authorized, so it gets past the door; then it breaks flow control.
    const attacker = await dialTls({
      identity: pair.clientId,
      host: pair.peer.host,
      port: pair.peer.port,
      serverKey: pair.serverId.id,
    });
    await eventually(() => pair!.server.stats().connections === 2, 'the attacker to be connected');
    const frames: { type: number; length: number }[] = [];
    const reader = new FrameReader({
      onHeader: (_v, type, _f, _id, length) => {
        frames.push({ type, length });
        return Verdict.Next;
      },
      onPayload: () => {},
    });
    attacker.socket.on('data', (c: Buffer) => reader.push(c));
    attacker.socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => attacker.socket.once('close', () => resolve()));
    const flood = Buffer.alloc(INITIAL_STREAM_WINDOW, 0x61);
    attacker.socket.write(encodeHeader({ type: FrameType.Data, flags: Flag.SYN, streamId: 1, length: 1 }));
    attacker.socket.write(Uint8Array.of(0x06)); // preface DUPLEX (a call): the window now has 256 KiB - 1 left
    attacker.socket.write(
      encodeHeader({ type: FrameType.Data, flags: 0, streamId: 1, length: flood.length }),
    );
    attacker.socket.write(flood);
    await Promise.race([closed, sleep(5_000, undefined, { ref: false })]);
    assert.ok(attacker.socket.destroyed || attacker.socket.readableEnded, 'the attacker was disconnected');
    assert.ok(
      frames.some((f) => f.type === FrameType.GoAway && f.length === GoAwayCode.ProtocolError),
      `GoAway(1) sent to the attacker; got ${JSON.stringify(frames)}`,
    );
    await eventually(() => pair!.server.stats().connections === 1, 'the server to drop the attacker only');

    const before = [pings, ticks];
    await eventually(() => pings > before[0]! + 10 && ticks > before[1]! + 3, 'the good client to go on');
    stop = true;
    await pinging;
    subscription.unsubscribe();
    assert.equal(failure, undefined, 'no call of the good client failed');
    assert.equal(pair.clientConnections.length, 1, 'the good client never had to redial');
    attacker.socket.destroy();
  });
});
