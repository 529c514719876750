/**
 * Byte streams in the browser bundle, in a real Chromium: two ActorSystems on one page over an in-memory
 * socket pair (no network). A ReadableStream (and a Blob) uploaded and hashed by the handler, a
 * ReadableStream (and a Blob) downloaded and hashed by the page (sha256 from WebCrypto on both sides),
 * the sender held back by the stream window while the page does not read, a cancelled download that
 * cancels the sender's source, and a WritableStream the handler writes into.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, loadPage, servePage, skipBrowser } from './support.js';

const MiB = 1024 * 1024;

interface Common {
  log: string[];
  closeError?: string;
}

describe('byte streams as Web streams on a page (Chromium)', { skip: skipBrowser }, () => {
  let server: Server;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    const served = await servePage('bytes.js');
    server = served.server;
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    page.on('pageerror', (err) => errors.push(String(err)));
    await loadPage(page, served.url);
  });

  after(async () => {
    await chromium?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** Runs window[name](arg) on the page and checks what every case shares. */
  async function run<T>(name: string, arg?: number): Promise<T & Common> {
    const out = (await page.evaluate(
      ([fn, a]) =>
        (globalThis as unknown as Record<string, (x?: number) => Promise<unknown>>)[fn as string]!(a),
      [name, arg] as const,
    )) as T & Common;
    assert.deepEqual(errors, [], 'no uncaught errors on the page');
    assert.equal(out.closeError, undefined);
    assert.ok(!out.log.some((l) => l.startsWith('server onError')), out.log.join('; '));
    return out;
  }

  it('uploads a ReadableStream of 3 MiB and a Blob of 1 MiB (twice): the handler gets a ReadableStream, same sha256', async () => {
    const out = await run<{
      digest: string;
      expected: string;
      isStream: boolean;
      blobDigest: string;
      blobAgainDigest: string;
      blobExpected: string;
    }>('upload', 3 * MiB + 12_345);
    assert.equal(out.isStream, true);
    assert.match(out.expected, /^[0-9a-f]{64}$/);
    assert.equal(out.digest, out.expected);
    assert.equal(out.blobDigest, out.blobExpected);
    assert.equal(out.blobAgainDigest, out.blobExpected, 'a Blob may be sent again');
  });

  it('downloads a returned ReadableStream of 4 MiB (held back while unread) and a Blob: same sha256', async () => {
    const out = await run<{
      isStream: boolean;
      pulledWhileIdle: number;
      length: number;
      digest: string;
      expected: string;
      blobDigest: string;
      blobExpected: string;
    }>('download', 4 * MiB);
    assert.equal(out.isStream, true);
    assert.equal(out.length, 4 * MiB);
    assert.equal(out.digest, out.expected);
    assert.equal(out.blobDigest, out.blobExpected);
    // The stream window (256 KiB by default) plus a chunk or two in the pumps, far from the 4 MiB.
    assert.ok(out.pulledWhileIdle < 1 * MiB, `the sender read ${out.pulledWhileIdle} bytes nobody read`);
  });

  it('a cancelled download resets the stream: the sender source is cancelled with the reset', async () => {
    const out = await run<{ read: number; cancelledOnSender: boolean; cancelLog: string[] }>(
      'cancelDownload',
    );
    assert.ok(out.read > 0);
    assert.equal(out.cancelledOnSender, true, out.log.join('; '));
    assert.deepEqual(out.cancelLog, ['endless cancelled: STREAM_RESET']);
  });

  it('passes a WritableStream that the handler writes 2 MiB into, then closes', async () => {
    const out = await run<{ written: number; closed: boolean; digest: string; expected: string }>(
      'sink',
      2 * MiB,
    );
    assert.equal(out.written, 2 * MiB);
    assert.equal(out.closed, true);
    assert.equal(out.digest, out.expected);
  });
});
