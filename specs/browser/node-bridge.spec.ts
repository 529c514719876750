/**
 * Byte streams between Node and a real Chromium, on the real wire: the page's ActorSystem (the browser
 * bundle, Web streams) talks to a Node ActorSystem (Node Readable/Writable) over an in-memory socket on
 * each side, bridged by the spec through playwright (base64 chunks, in order). No network. A page's
 * ReadableStream and Blob read by Node as a Readable, a Node Readable read by the page as a
 * ReadableStream, a page's cancel destroying the Node Readable, and a Node Writable that is the page's
 * WritableStream; sha256 checked on both sides.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { ActorSystem } from '../../src/index.js';
import { socketConnection, socketPair } from '../../src/transport/connection/socket-pair.js';
import { launchChromium, loadPage, servePage, skipBrowser } from './support.js';

const MiB = 1024 * 1024;

function generate(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const events: string[] = [];

class Files {
  async hash(body: Readable): Promise<string> {
    if (!(body instanceof Readable)) throw new Error('not a Readable');
    const hash = createHash('sha256');
    for await (const chunk of body) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }
  download(bytes: number, seed: number): Readable {
    const data = generate(bytes, seed);
    const chunks: Buffer[] = [];
    for (let off = 0; off < data.length; off += 64 * 1024) chunks.push(data.subarray(off, off + 64 * 1024));
    return Readable.from(chunks);
  }
  endless(): Readable {
    let i = 0;
    return new Readable({
      read() {
        this.push(Buffer.alloc(16 * 1024, i++ & 0xff));
      },
      destroy(err, callback) {
        events.push(`endless destroyed after ${i} chunks`);
        callback(err);
      },
    });
  }
  async fill(sink: Writable, bytes: number, seed: number): Promise<number> {
    if (!(sink instanceof Writable)) throw new Error('not a Writable');
    const data = generate(bytes, seed);
    for (let off = 0; off < data.length; off += 50_000) {
      if (!sink.write(data.subarray(off, off + 50_000))) {
        await new Promise((resolve) => sink.once('drain', resolve));
      }
    }
    await new Promise<void>((resolve, reject) =>
      sink.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    return bytes;
  }
}

describe('byte streams between Node and Chromium (bridged in memory)', { skip: skipBrowser }, () => {
  let server: Server;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let system: ActorSystem;
  const errors: string[] = [];

  before(async () => {
    const served = await servePage('node-bridge.js');
    server = served.server;
    system = new ActorSystem({ onError: (err) => events.push(`onError: ${err}`) });
    await system.register('files', Files);
    const [nodeEnd, bridgeEnd] = socketPair();
    system.serve(socketConnection(nodeEnd, 'server'));
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.exposeBinding('toNode', (_source, text: string) => {
      bridgeEnd.write(Buffer.from(text, 'base64'));
    });
    // Node → page: batches, one evaluate at a time, so the page gets the bytes in order.
    let outbox: string[] = [];
    let sending = false;
    const flush = async () => {
      sending = true;
      while (outbox.length > 0) {
        const batch = outbox;
        outbox = [];
        await page
          .evaluate(
            (list) => (globalThis as unknown as { fromNode(l: string[]): void }).fromNode(list),
            batch,
          )
          .catch(() => {}); // the page is closing
      }
      sending = false;
    };
    bridgeEnd.on('data', (chunk: Uint8Array) => {
      outbox.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString('base64'));
      if (!sending) void flush();
    });
    bridgeEnd.resume();
    await loadPage(page, served.url);
  });

  after(async () => {
    await page
      ?.evaluate(() => (globalThis as unknown as { closeClient(): Promise<unknown> }).closeClient())
      .catch(() => {});
    await system?.close();
    await chromium?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function run<T>(name: string, arg?: number): Promise<T> {
    const out = (await page.evaluate(
      ([fn, a]) =>
        (globalThis as unknown as Record<string, (x?: number) => Promise<unknown>>)[fn as string]!(a),
      [name, arg] as const,
    )) as T;
    assert.deepEqual(errors, [], 'no uncaught errors on the page');
    assert.ok(!events.some((e) => e.startsWith('onError')), events.join('; '));
    return out;
  }

  it('a page ReadableStream (2 MiB) and a Blob arrive in Node as Readables: same sha256', async () => {
    const out = await run<{ digest: string; expected: string; blobDigest: string; blobExpected: string }>(
      'upload',
      2 * MiB + 7,
    );
    assert.equal(out.digest, out.expected);
    assert.equal(out.blobDigest, out.blobExpected);
  });

  it('a Node Readable (2 MiB) arrives on the page as a ReadableStream: same sha256', async () => {
    const out = await run<{ isStream: boolean; length: number; digest: string; expected: string }>(
      'download',
      2 * MiB,
    );
    assert.equal(out.isStream, true);
    assert.equal(out.length, 2 * MiB);
    assert.equal(out.digest, out.expected);
    assert.equal(out.expected, sha256(generate(2 * MiB, 22)), 'both sides generate the same bytes');
  });

  it("the page's cancel destroys the Node Readable", async () => {
    const out = await run<{ read: number }>('cancelDownload');
    assert.ok(out.read > 0);
    const until = Date.now() + 5000;
    while (!events.some((e) => e.startsWith('endless destroyed')) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(
      events.some((e) => e.startsWith('endless destroyed')),
      events.join('; '),
    );
  });

  it("a page WritableStream is a Writable in Node: Node's 1 MiB arrive, then the close", async () => {
    const out = await run<{ written: number; closed: boolean; digest: string; expected: string }>(
      'sink',
      MiB,
    );
    assert.equal(out.written, MiB);
    assert.equal(out.closed, true);
    assert.equal(out.digest, out.expected);
  });
});
