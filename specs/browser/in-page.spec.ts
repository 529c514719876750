/**
 * The browser bundle in a real Chromium: two ActorSystems on one page, connected by an in-memory socket
 * pair (no network), using only dist/browser/rxchan.js. A unary call (with callContext() read in the
 * handler), a typed error, a stream subscribed then unsubscribed with the server's teardown observed,
 * and a callback the server calls.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, loadPage, servePage, skipBrowser } from './support.js';

describe('the browser bundle on a page (Chromium)', { skip: skipBrowser }, () => {
  let server: Server;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    const served = await servePage('in-page.js');
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

  it('calls, fails typed, streams and tears down, and calls back', async () => {
    const out = (await page.evaluate(() =>
      (globalThis as unknown as { runInPage(): Promise<unknown> }).runInPage(),
    )) as {
      add: { sum: number; method: string };
      divide: { isRpcError: boolean; code: string; message: string };
      ticks: number[];
      tornDown: boolean;
      callback: string;
      stats: Record<string, number>;
      log: string[];
      closeError?: string;
    };
    assert.deepEqual(errors, [], 'no uncaught errors on the page');
    assert.deepEqual(out.add, { sum: 3, method: 'add' });
    assert.equal(out.divide.isRpcError, true);
    assert.equal(out.divide.code, 'INVALID_ARGUMENT');
    assert.match(out.divide.message, /division by zero/);
    assert.deepEqual(out.ticks, [0, 1, 2]);
    assert.equal(out.tornDown, true, `the server tore the stream down (log: ${out.log.join('; ')})`);
    assert.equal(out.callback, 'server got hello page');
    assert.equal(out.closeError, undefined);
    assert.ok(!out.log.some((l) => l.startsWith('server onError')), out.log.join('; '));
  });
});
