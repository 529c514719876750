/**
 * Callbacks and actor refs passed as arguments (the server calls the client back over the same
 * connection), and Node byte streams as arguments and results, between two systems over TLS 1.3.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { lastValueFrom, Observable, toArray } from 'rxjs';
import { actor, callContext, isRpcError, type Ref } from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

/** An actor of the CLIENT system, handed to the server as a ref. */
@actor('listener')
class Listener {
  static events: string[] = [];
  static callers: (string | undefined)[] = [];
  onEvent(text: string): string {
    const ctx = callContext();
    Listener.events.push(text);
    Listener.callers.push(ctx.caller.name ?? ctx.caller.id);
    return `seen ${text}`;
  }
  countdown(n: number): Observable<number> {
    return new Observable<number>((s) => {
      for (let i = n; i > 0; i--) s.next(i);
      s.complete();
    });
  }
}

@actor('hub')
class Hub {
  private listener: Ref<Listener> | undefined;
  private stored: ((n: number) => Promise<number>) | undefined;

  async each(n: number, cb: (i: number) => Promise<number>): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await cb(i));
    this.stored = cb;
    return out;
  }
  async callStored(): Promise<number> {
    return this.stored!(1);
  }
  subscribe(listener: Ref<Listener>): void {
    this.listener = listener;
  }
  async publish(text: string): Promise<string> {
    return this.listener!.onEvent(text);
  }
  async streamFromListener(n: number): Promise<number[]> {
    return lastValueFrom(this.listener!.countdown(n).pipe(toArray()));
  }
  async upload(data: Readable): Promise<number> {
    let total = 0;
    for await (const chunk of data) total += (chunk as Buffer).length;
    return total;
  }
  download(size: number): Readable {
    return Readable.from(chunks(size));
  }
  async fill(sink: Writable, size: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      Readable.from(chunks(size)).pipe(sink).on('finish', resolve).on('error', reject);
    });
  }
}

function* chunks(size: number): Generator<Buffer> {
  for (let left = size; left > 0; left -= 64 * 1024) yield Buffer.alloc(Math.min(left, 64 * 1024), 7);
}

let p: Pair;
afterEach(async () => {
  await p?.close();
});

async function start(): Promise<Pair> {
  p = await pair();
  await p.server.register(Hub);
  await p.client.register(Listener);
  Listener.events = [];
  Listener.callers = [];
  return p;
}

describe('actors over TLS: callbacks and refs as arguments', () => {
  it('a callback argument is called back over the same connection, while the call lasts', async () => {
    await start();
    const hub = p.client.ref<Hub>('hub', p.peer);
    const seen: number[] = [];
    const result = await hub.each(3, async (i) => {
      seen.push(i);
      return i * 10;
    });
    assert.deepEqual(result, [0, 10, 20]);
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(p.client.stats().connections, 1, 'no second connection');
    // The callback's mailbox ended with its call: a later call to it fails.
    await assert.rejects(hub.callStored(), (e) => isRpcError(e, 'UNAVAILABLE'));
  });

  it('an actor ref argument lets the server call a client actor, by method, values and streams', async () => {
    await start();
    const hub = p.client.ref<Hub>('hub', p.peer);
    await hub.subscribe(p.client.ref<Listener>('listener'));
    assert.equal(await hub.publish('hello'), 'seen hello');
    assert.equal(await hub.publish('again'), 'seen again');
    assert.deepEqual(Listener.events, ['hello', 'again']);
    // The client's actor sees the server as its caller (by key id: the client has no name for it).
    assert.deepEqual(Listener.callers, [p.serverId.id, p.serverId.id]);
    assert.deepEqual(await hub.streamFromListener(3), [3, 2, 1]);
  });

  it('a remote ref passed on is forwarded through the node that passed it', async () => {
    await start();
    await p.server.register(Listener);
    const hub = p.client.ref<Hub>('hub', p.peer);
    // A ref to the server's own 'listener', held by the client and given back to the server.
    await hub.subscribe(p.client.ref<Listener>('listener', p.peer));
    assert.equal(await hub.publish('round trip'), 'seen round trip');
    assert.deepEqual(Listener.events, ['round trip']);
    assert.deepEqual(Listener.callers, ['alice'], 'the server actor is called by the client that forwarded');
    assert.deepEqual(await hub.streamFromListener(2), [2, 1]);
  });
});

describe('actors over TLS: byte streams', () => {
  it('carries a Readable argument and a Readable result', async () => {
    await start();
    const hub = p.client.ref<Hub>('hub', p.peer);
    const payload = randomBytes(300 * 1024);
    assert.equal(
      await hub.upload(Readable.from([payload.subarray(0, 1000), payload.subarray(1000)])),
      payload.length,
    );
    const download = await hub.download(1024 * 1024);
    let total = 0;
    for await (const chunk of download) {
      total += (chunk as Buffer).length;
      assert.equal((chunk as Buffer)[0], 7);
    }
    assert.equal(total, 1024 * 1024);
  });

  it('carries a Writable argument: what the server writes lands in ours', async () => {
    await start();
    const hub = p.client.ref<Hub>('hub', p.peer);
    let total = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        total += chunk.length;
        done();
      },
    });
    await hub.fill(sink, 200 * 1024);
    await eventually(() => total === 200 * 1024, 'all bytes to arrive');
  });
});
