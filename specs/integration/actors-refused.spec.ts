/**
 * Byte streams (Node Readable / Writable) in the arguments of a call that is refused before its handler
 * (UNIMPLEMENTED, PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, a deadline while
 * queued) or whose handler fails: the framework resets them, at any depth in the arguments, so the
 * caller's streams are destroyed and nothing stays open on either side. A handler that succeeds keeps
 * its streams (it may write after returning).
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ActorSystem, actor, isRpcError, type RpcErrorCode } from '../../src/actors/index.js';
import { ChannelSession } from '../../src/transport/channel/index.js';
import { dialTls } from '../../src/transport/connection/index.js';
import { Session } from '../../src/transport/mux/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

@actor('files', { concurrency: 1 })
class Files {
  async hold(ms: number): Promise<string> {
    await sleep(ms);
    return 'held';
  }
  size(_source: Readable): number {
    return 0;
  }
  broken(_source: Readable, _sink: Writable): never {
    throw new Error('broken before reading');
  }
  /** Returns at once and writes later: its Writable must survive the return. */
  later(sink: Writable): string {
    setTimeout(() => sink.end('written after the reply'), 50);
    return 'ok';
  }
}

@actor('private-files', { allow: ['ops'] })
class PrivateFiles {
  size(_source: Readable): number {
    return 0;
  }
}

/** A Readable that never ends on its own (the caller's end stays open unless someone resets it). */
const endless = () => new Readable({ read() {} });
/** A Writable that takes anything. */
const sink = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

/** Mux streams open on every connection of `system` (reaches into internals: specs only). */
function openStreams(system: ActorSystem): number {
  const links = (system as unknown as { links: Set<{ channels: { mux: { streamCount: number } } }> }).links;
  let n = 0;
  for (const l of links) n += l.channels.mux.streamCount;
  return n;
}

const code = (c: RpcErrorCode) => (e: unknown) => isRpcError(e, c);

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

async function start(options?: Parameters<typeof pair>[0]): Promise<{ baseline: number }> {
  p = await pair(options);
  await p.server.register(Files);
  await p.server.register(PrivateFiles);
  // One plain call first: what stays open between calls (nothing: a call is one stream, closed after it).
  assert.equal(await p.client.ref<Files>('files', p.peer).hold(0), 'held');
  return { baseline: openStreams(p.server) };
}

/** Every stream is destroyed on the caller's side, and the server is back to its idle streams. */
async function released(streams: (Readable | Writable)[], baseline: number): Promise<void> {
  await eventually(() => streams.every((s) => s.destroyed), "the caller's streams to be destroyed");
  await eventually(() => openStreams(p!.server) === baseline, "the server's streams to end");
}

describe('actors over TLS: byte streams of a refused call are reset', () => {
  it('UNIMPLEMENTED, with a Writable argument', async () => {
    const { baseline } = await start();
    const files = p!.client.ref<Record<string, (...a: unknown[]) => Promise<unknown>>>('files', p!.peer);
    const w = sink();
    await assert.rejects(files.nosuch!(w), code('UNIMPLEMENTED'));
    await released([w], baseline);
  });

  it('PERMISSION_DENIED, with a Readable inside an object', async () => {
    const { baseline } = await start();
    const r = endless();
    const denied = p!.client.ref<Record<string, (...a: unknown[]) => Promise<unknown>>>(
      'private-files',
      p!.peer,
    );
    await assert.rejects(denied.size!({ source: r }), code('PERMISSION_DENIED'));
    await released([r], baseline);
  });

  it('NOT_FOUND, with streams inside an array', async () => {
    const { baseline } = await start();
    const r = endless();
    const w = sink();
    const nobody = p!.client.ref<Files>('nobody', p!.peer);
    await assert.rejects(nobody.size([r, w] as unknown as Readable), code('NOT_FOUND'));
    await released([r, w], baseline);
  });

  it('RESOURCE_EXHAUSTED (maxCallsPerConnection), with a Readable argument', async () => {
    const { baseline } = await start({ server: { config: { maxCallsPerConnection: 1 } } });
    const files = p!.client.ref<Files>('files', p!.peer);
    const holding = files.hold(200);
    await eventually(() => p!.server.stats().servedCalls === 1, 'the first call to be served');
    const r = endless();
    await assert.rejects(files.size(r), code('RESOURCE_EXHAUSTED'));
    await released([r], baseline + 1);
    assert.equal(await holding, 'held');
  });

  it('INVALID_ARGUMENT (a malformed call), with a Readable argument', async () => {
    const { baseline } = await start();
    // A raw client over the channel layer: the actor client never sends a malformed call.
    const connection = await dialTls({
      identity: p!.clientId,
      host: p!.peer.host,
      port: p!.peer.port,
      serverKey: p!.serverId.id,
    });
    const channels = new ChannelSession(new Session(connection.socket, connection.role));
    try {
      const call = channels.openDuplex<unknown, unknown>();
      const reply = call.receiver;
      const r = endless();
      call.sender.write({ n: 'files', m: 42, a: [{ nested: r }] });
      call.sender.close();
      await assert.rejects(
        new Promise<void>((resolve, reject) =>
          reply.subscribe({
            next: () => resolve(),
            error: (e: unknown) => reject(e),
            complete: () => resolve(),
          }),
        ),
        (e: unknown) => (e as { remoteCode?: string }).remoteCode === 'INVALID_ARGUMENT',
      );
      await eventually(() => r.destroyed, 'the Readable to be destroyed');
      await eventually(() => openStreams(p!.server) === baseline, "the server's streams to end");
    } finally {
      channels.destroy();
    }
  });

  it('a deadline while the call waited in the mailbox, with a Writable argument', async () => {
    const { baseline } = await start();
    const files = p!.client.ref<Files>('files', p!.peer);
    const holding = files.hold(300);
    const w = sink();
    await assert.rejects(files.withOptions({ timeoutMs: 50 }).later(w), code('DEADLINE_EXCEEDED'));
    assert.equal(await holding, 'held');
    await released([w], baseline);
  });

  it('a handler that fails, with a Readable and a Writable it never touched', async () => {
    const { baseline } = await start();
    const r = endless();
    const w = sink();
    await assert.rejects(p!.client.ref<Files>('files', p!.peer).broken(r, w), code('INTERNAL'));
    await released([r, w], baseline);
  });

  it('a handler that succeeds keeps its streams: it may write after returning', async () => {
    const { baseline } = await start();
    const chunks: string[] = [];
    const w = new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    });
    const finished = new Promise((resolve, reject) => w.on('finish', resolve).on('error', reject));
    assert.equal(await p!.client.ref<Files>('files', p!.peer).later(w), 'ok');
    await finished;
    assert.deepEqual(chunks, ['written after the reply']);
    await eventually(() => openStreams(p!.server) === baseline, "the server's streams to end");
  });
});
