/**
 * A page in a real Chromium dials a Node ActorSystem over wss:// (a test certificate; the browser
 * context ignores HTTPS errors), with a BrowserIdentity: WebCrypto Ed25519 with its non-extractable key
 * in IndexedDB, and a tweetnacl one. Calls, a typed error, a stream subscribed then unsubscribed with the
 * server's teardown observed, a callback the server calls; refusals for an unauthorized key and a wrong
 * pinned server key; a reconnect after the server restarts on the same port.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { ActorSystem, callContext, Identity, type Ref, rpcError } from '../../src/index.js';
import { type WebCert, webCert } from '../support/web-cert.js';
import { launchChromium, loadPage, servePage, serveStatic, skipBrowser } from './support.js';

type Outcome<T> = {
  ok?: T;
  error?: { isRpcError: boolean; code: string; remoteCode?: string; causeCode?: string; message: string };
};

const serverId = Identity.generate();
const events: string[] = [];
let tornDown: () => void = () => {};

class Calculator {
  add(a: number, b: number): number {
    return a + b;
  }
  whoAmI(): string | undefined {
    return callContext().caller?.name;
  }
  divide(a: number, b: number): number {
    if (b === 0) throw rpcError('INVALID_ARGUMENT', 'division by zero');
    return a / b;
  }
  checksum(bytes: Uint8Array): { length: number; sum: number } {
    return { length: bytes.length, sum: sum(bytes) };
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (i * 13 + 1) & 0xff;
    return out;
  }
  async *ticks(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < 1000; i++) {
        yield i;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      events.push('ticks torn down');
      tornDown();
    }
  }
  async greetVia(callback: (name: string) => Promise<string>, name: string): Promise<string> {
    return `server got ${await callback(name)}`;
  }
  /** Calls an actor of the page through the ref the page passed (over the same connection). */
  async announce(to: Ref<{ print(line: string): string }>, text: string): Promise<string> {
    return `printed: ${await to.print(text)}`;
  }
}

describe('a browser client over wss:// (Chromium)', { skip: skipBrowser }, () => {
  let statics: Server;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let context: BrowserContext;
  let page: Page;
  let cert: WebCert;
  let server: ActorSystem | undefined;
  let url: string;
  let port: number;
  let keys: { id: string; naclId: string };
  const pageErrors: string[] = [];

  const startServer = async (atPort: number) => {
    const system = new ActorSystem({
      identity: serverId,
      authorizedKeys: [
        { key: keys.id, name: 'page' },
        { key: keys.naclId, name: 'page-nacl' },
      ],
    });
    await system.register('calc', Calculator);
    const listening = await system.listen({
      websocket: { host: '127.0.0.1', port: atPort, tls: { cert: cert.cert, key: cert.key } },
    });
    server = system;
    return listening;
  };

  const inPage = <T>(fn: string, ...args: unknown[]): Promise<T> =>
    page.evaluate(
      ([name, list]) =>
        (globalThis as unknown as Record<string, (...a: unknown[]) => unknown>)[name as string]!(
          ...(list as unknown[]),
        ),
      [fn, args] as const,
    ) as Promise<T>;

  before(async () => {
    cert = await webCert();
    const served = await servePage('websocket.js');
    statics = served.server;
    chromium = await launchChromium({ ignoreHTTPSErrors: true });
    context = chromium.context;
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    await loadPage(page, served.url);
    keys = await inPage('setUp');
    const listening = await startServer(0);
    url = listening.url!;
    port = listening.port;
    await inPage('connect', url, serverId.id);
  });

  after(async () => {
    await inPage('tearDown').catch(() => undefined);
    await chromium?.close();
    await server?.close();
    await new Promise((resolve) => statics?.close(resolve));
  });

  it('keeps a WebCrypto key in IndexedDB, the same one on every load', async () => {
    const setUp = keys as unknown as Record<string, unknown>;
    assert.equal(setUp.kind, 'webcrypto');
    assert.equal(setUp.persisted, true);
    assert.equal(setUp.sameKeyLoadedTwice, true);
    assert.equal(setUp.naclKind, 'tweetnacl');
    assert.match(keys.id, /^[A-Za-z0-9_-]{43}$/);
    assert.match(url, /^wss:\/\/127\.0\.0\.1:\d+\/rxchan$/);
  });

  it('calls, fails typed, streams and tears down, and calls back', async () => {
    const torn = new Promise<void>((resolve) => {
      tornDown = resolve;
    });
    const out = await inPage<{
      add: Outcome<number>;
      whoAmI: Outcome<string>;
      divide: Outcome<number>;
      ticks: Outcome<number[]>;
      callback: Outcome<string>;
      refPassed: Outcome<string>;
      printed: string[];
      upload: Outcome<{ length: number; sum: number }>;
      download: Outcome<{ length: number; sum: number }>;
      log: string[];
    }>('calls');
    assert.deepEqual(out.add, { ok: 3 });
    assert.deepEqual(out.whoAmI, { ok: 'page' }, 'the server knows the page by its authorized key');
    assert.equal(out.divide.error?.isRpcError, true);
    assert.equal(out.divide.error?.code, 'INVALID_ARGUMENT');
    assert.match(out.divide.error?.message ?? '', /division by zero/);
    assert.deepEqual(out.ticks, { ok: [0, 1, 2] });
    await bounded(torn, 5_000, 'the server tears the stream down after the unsubscribe');
    assert.deepEqual(events, ['ticks torn down']);
    assert.deepEqual(out.callback, { ok: 'server got hello page' });
    assert.deepEqual(out.refPassed, { ok: 'printed: page printed "from the server"' });
    assert.deepEqual(out.printed, ['from the server'], "the page's own actor ran the call");
    const up = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
    assert.deepEqual(out.upload, { ok: { length: up.length, sum: sum(up) } }, 'a 3 MiB argument');
    const down = new Calculator().bytes(2 * 1024 * 1024);
    assert.deepEqual(out.download, { ok: { length: down.length, sum: sum(down) } }, 'a 2 MiB result');
    assert.deepEqual(out.log, []);
    assert.deepEqual(pageErrors, []);
  });

  it('signs with tweetnacl where WebCrypto has no Ed25519', async () => {
    assert.deepEqual(await inPage('callAs', 'nacl', url, serverId.id), { ok: 5 });
  });

  it('is refused with a key the server does not authorize: UNAUTHENTICATED (UNKNOWN_KEY)', async () => {
    const out = await inPage<Outcome<number>>('callAs', 'stranger', url, serverId.id);
    assert.equal(out.error?.code, 'UNAUTHENTICATED', JSON.stringify(out));
    assert.equal(out.error?.remoteCode, 'UNKNOWN_KEY');
    assert.match(out.error?.message ?? '', /rejected the connection \(UNKNOWN_KEY\)/);
  });

  it('refuses a server that is not the pinned key: UNAUTHENTICATED (SERVER_KEY_MISMATCH)', async () => {
    const out = await inPage<Outcome<number>>('callAs', 'page', url, Identity.generate().id);
    assert.equal(out.error?.code, 'UNAUTHENTICATED', JSON.stringify(out));
    assert.equal(out.error?.remoteCode, 'SERVER_KEY_MISMATCH');
  });

  it('fails UNAVAILABLE (CONNECTION_LOST) when the WebSocket does not open', async () => {
    const closed = await serveStatic({});
    const deadUrl = `wss://127.0.0.1:${new URL(closed.url).port}/rxchan`;
    await new Promise((resolve) => closed.server.close(resolve));
    const out = await inPage<Outcome<number>>('callAs', 'page', deadUrl, serverId.id);
    assert.equal(out.error?.code, 'UNAVAILABLE', JSON.stringify(out));
    assert.equal(out.error?.causeCode, 'CONNECTION_LOST');
    assert.match(out.error?.message ?? '', /did not open/);
  });

  it('reconnects after the server restarts on the same port', async () => {
    await server!.close();
    server = undefined;
    assert.equal(await inPage('disconnected'), true, 'the page sees the connection go');
    const again = await startServer(port);
    assert.equal(again.url, url);
    assert.deepEqual(await inPage('callAgain'), { ok: 42 });
  });
});

function sum(bytes: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) s = (s * 31 + bytes[i]!) >>> 0;
  return s;
}

async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
