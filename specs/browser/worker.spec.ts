/**
 * A browser Worker in a real Chromium: the page starts a module Worker (served from 127.0.0.1,
 * importing dist/browser/rxchan.js) and talks to the ActorSystem in it over MessageChannels, keyed by
 * the in-band handshake (BrowserIdentity keys, `authorizedKeys` lists) or insecure. The page calls the
 * worker: a unary call with the caller's authorized name, a typed error, a stream unsubscribed with
 * the worker's teardown observed, a callback, bytes (a ReadableStream, sha256 checked); an unlisted key
 * is refused on both sides; and the worker calls an actor the page serves.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, loadPage, ROOT, servePage, skipBrowser } from './support.js';

interface Described {
  isRpcError: boolean;
  code: string;
  remoteCode?: string;
  causeCode?: string;
  message: string;
}

describe('a browser Worker over MessagePorts (Chromium)', { skip: skipBrowser }, () => {
  let server: Server;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let keys: { workerKey: string; pageKey: string };
  const pageErrors: string[] = [];

  /** Runs `window[name]()` on the page: every wait in it is bounded there (10 s a call, 20 s the bytes). */
  function inPage<T>(name: string): Promise<T> {
    return page.evaluate(
      (fn) => (globalThis as unknown as Record<string, () => Promise<unknown>>)[fn]!(),
      name,
    ) as Promise<T>;
  }

  before(async () => {
    const served = await servePage('worker.js', {
      '/worker-host.js': join(ROOT, 'specs/browser/page/worker-host.js'),
    });
    server = served.server;
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    await loadPage(page, served.url);
    keys = await inPage('startWorker');
  });

  after(async () => {
    await chromium?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('calls the worker: the caller named, a typed error, a stream torn down, a callback, bytes', async () => {
    const out = await inPage<{
      whoAmI: { name: string | null; id: string | null; where: string };
      served: { served: boolean };
      divide: Described;
      ticks: number[];
      tornDown: boolean;
      callback: string;
      bytes: { digest: string; length: number; isStream: boolean; expected: string; expectedLength: number };
      stats: { connections: number };
      log: string[];
      closeError?: string;
    }>('callWorker');
    const log = out.log.join('; ');
    assert.deepEqual(out.whoAmI, { name: 'the page', id: keys.pageKey, where: 'function' });
    assert.deepEqual(out.served, { served: true });
    assert.equal(out.divide.isRpcError, true);
    assert.equal(out.divide.code, 'INVALID_ARGUMENT');
    assert.match(out.divide.message, /division by zero/);
    assert.deepEqual(out.ticks, [0, 1, 2]);
    assert.equal(out.tornDown, true, `the worker tore the stream down (log: ${log})`);
    assert.equal(out.callback, 'worker got hello page');
    assert.equal(out.bytes.isStream, true);
    assert.equal(out.bytes.length, out.bytes.expectedLength);
    assert.equal(out.bytes.digest, out.bytes.expected);
    assert.equal(out.closeError, undefined);
    assert.ok(!out.log.some((l) => /onError|worker error/.test(l)), log);
    assert.deepEqual(pageErrors, []);
  });

  it('refuses a key the worker does not list: UNAUTHENTICATED (UNKNOWN_KEY) on both sides', async () => {
    const out = await inPage<{
      ok?: unknown;
      error?: Described;
      served: { served: boolean; code?: string; remoteCode?: string; message?: string };
    }>('callAsStranger');
    assert.equal(out.error?.code, 'UNAUTHENTICATED', JSON.stringify(out));
    assert.equal(out.error?.remoteCode, 'UNKNOWN_KEY');
    assert.match(out.error?.message ?? '', /rejected the connection \(UNKNOWN_KEY\)/);
    assert.equal(out.served.served, false);
    assert.equal(out.served.code, 'UNAUTHENTICATED');
    assert.equal(out.served.remoteCode, 'UNKNOWN_KEY');
  });

  it('serves and calls insecure: no keys, no caller', async () => {
    const out = await inPage<{ whoAmI: { name: string | null; id: string | null }; served: unknown }>(
      'callInsecure',
    );
    assert.deepEqual(out.whoAmI, { name: null, id: null, where: 'function' });
    assert.deepEqual(out.served, { served: true });
  });

  it('the worker calls an actor the page serves, named by the page list', async () => {
    const out = await inPage<{ answer?: string; error?: Described }>('workerCallsPage');
    assert.deepEqual(out, { answer: 'page noted "from the worker" from the worker' });
  });

  it('closes the worker system', async () => {
    const log = await inPage<string[]>('stopWorker');
    assert.ok(!log.some((l) => /onError|worker error/.test(l)), log.join('; '));
    assert.deepEqual(pageErrors, []);
  });
});
