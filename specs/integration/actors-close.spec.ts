/**
 * Closing a system while a peer holds a ref to one of its actors (or it holds a peer's ref), over TLS
 * 1.3: a graceful close finishes calls in progress, then ends idle mailbox and ref channels at once,
 * instead of waiting `closeTimeoutMs` for the holder to drop the ref (its garbage collection). A holder
 * can also release a ref explicitly (`ref[Symbol.dispose]()`); later calls through it fail UNAVAILABLE.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ActorSystem, actor, isRpcError, type Ref } from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

/** Long enough that waiting for it fails the spec; a close that does not wait takes milliseconds. */
const CLOSE_TIMEOUT_MS = 8_000;
const QUICK_MS = CLOSE_TIMEOUT_MS / 2;

@actor('inbox')
class Inbox {
  readonly got: string[] = [];
  deliver(text: string): number {
    this.got.push(text);
    return this.got.length;
  }
}

/** Keeps the refs it is given, like a chat room. */
@actor('holder', { concurrency: 4 })
class Holder {
  ref: Ref<Inbox> | undefined;
  hold(ref: Ref<Inbox>): void {
    this.ref = ref;
  }
  async send(text: string): Promise<number> {
    return await this.ref!.deliver(text);
  }
  release(): void {
    this.ref![Symbol.dispose]();
  }
  async slow(ms: number): Promise<string> {
    await sleep(ms);
    return 'done';
  }
  /** A ref made from the held one with other options: it shares the channel. */
  async sendDerived(text: string): Promise<number> {
    return await this.ref!.withOptions({ timeoutMs: 5_000 }).deliver(text);
  }
}

/** Mux streams open on every connection of `system` (reaches into internals: specs only). */
function openStreams(system: ActorSystem): number {
  const links = (system as unknown as { links: Set<{ channels: { mux: { streamCount: number } } }> }).links;
  let n = 0;
  for (const l of links) n += l.channels.mux.streamCount;
  return n;
}

async function timed(what: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await what;
  return Date.now() - started;
}

const slowClose = { config: { closeTimeoutMs: CLOSE_TIMEOUT_MS } };

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

/** A pair where the server's holder keeps a ref to the client's inbox. */
async function holding(): Promise<{ holder: Ref<Holder>; inbox: Inbox }> {
  p = await pair({ server: slowClose, client: slowClose });
  await p.server.register(Holder);
  await p.client.register(Inbox);
  const holder = p.client.ref<Holder>('holder', p.peer);
  await holder.hold(p.client.ref<Inbox>('inbox'));
  assert.equal(await holder.send('hello'), 1);
  // The client's Inbox instance (reaches into internals: specs only).
  const cells = (p.client as unknown as { cells: Map<string, { instance: Inbox }> }).cells;
  const inbox = cells.get('inbox')!.instance;
  return { holder, inbox };
}

describe('actors over TLS: closing while a ref is held', () => {
  it("the ref's owner closes at once; the holder's next call fails UNAVAILABLE", async () => {
    await holding();
    const took = await timed(p!.client.close());
    assert.ok(took < QUICK_MS, `client.close() took ${took} ms (closeTimeoutMs ${CLOSE_TIMEOUT_MS})`);
    const server = p!.server;
    const holder = server.ref<Holder>('holder');
    await assert.rejects(holder.send('anyone?'), (e) => isRpcError(e, 'UNAVAILABLE'));
  });

  it('the holder closes at once, and ends the held channel', async () => {
    await holding();
    const took = await timed(p!.server.close());
    assert.ok(took < QUICK_MS, `server.close() took ${took} ms (closeTimeoutMs ${CLOSE_TIMEOUT_MS})`);
    await eventually(() => openStreams(p!.client) === 0, "the client's streams to end");
  });

  it('a close lets the calls in progress finish first, then ends the held channel', async () => {
    const { holder, inbox } = await holding();
    const slow = holder.slow(300);
    await sleep(20);
    const took = await timed(p!.client.close());
    assert.equal(await slow, 'done');
    assert.ok(took >= 250 && took < QUICK_MS, `client.close() took ${took} ms`);
    assert.deepEqual(inbox.got, ['hello']);
    await assert.rejects(p!.server.ref<Holder>('holder').send('gone'), (e) => isRpcError(e, 'UNAVAILABLE'));
  });

  it('releasing a held ref ends its channel; calls through it, or refs derived from it, fail UNAVAILABLE', async () => {
    const { holder } = await holding();
    const before = openStreams(p!.client);
    await holder.release();
    await eventually(() => openStreams(p!.client) === before - 1, "the ref's channel to end");
    await assert.rejects(
      holder.send('after'),
      (e) => isRpcError(e, 'UNAVAILABLE') && /released/.test(e.message),
    );
    await assert.rejects(holder.sendDerived('after'), (e) => isRpcError(e, 'UNAVAILABLE'));
    await holder.release(); // idempotent
    // Nothing of the ref is left to wait for.
    const took = await timed(p!.client.close());
    assert.ok(took < QUICK_MS, `client.close() took ${took} ms`);
  });

  it('a ref from system.ref() has nothing to release: it stays usable', async () => {
    p = await pair();
    await p.client.register(Inbox);
    const local = p.client.ref<Inbox>('inbox');
    local[Symbol.dispose]();
    assert.equal(await local.deliver('still here'), 1);
    await p.server.register(Holder);
    const remote = p.client.ref<Holder>('holder', p.peer);
    remote[Symbol.dispose]();
    await remote.hold(local);
    assert.equal(await remote.send('through the peer'), 2);
  });
});
