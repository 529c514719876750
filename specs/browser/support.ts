/**
 * What the browser specs share: the bundle (built once per process), a static server on 127.0.0.1
 * (a secure context, which WebCrypto needs), and Debian's Chromium driven by playwright-core.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Why the browser specs skip, or false when Chromium is there. */
export const skipBrowser: string | false = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser specs`;

/** The repository root (this file runs from dist/specs/browser). */
export const ROOT = join(fileURLToPath(import.meta.url), '../../../..');

export interface Bundle {
  file: string;
  bytes: number;
  gzipBytes: number;
  metafile: { inputs: Record<string, { imports: { path: string; external?: boolean }[] }> };
  /** The bundle without the peer dependencies (dist/browser/rxchan.peers.js). */
  peers?: Bundle;
}

let bundle: Promise<Bundle> | undefined;

/** Builds dist/browser/rxchan.js from the compiled sources (scripts/build-browser.mjs), once. */
export function browserBundle(): Promise<Bundle> {
  bundle ??= (async () => {
    const script = join(ROOT, 'scripts/build-browser.mjs');
    const mod = (await import(script)) as { buildBrowser(): Promise<Bundle> };
    return mod.buildBrowser();
  })();
  return bundle;
}

/** Serves `files` (url path → absolute file) on 127.0.0.1; 404 for anything else. */
export async function serveStatic(files: Record<string, string>): Promise<{ url: string; server: Server }> {
  const types: Record<string, string> = { js: 'text/javascript', html: 'text/html' };
  const server = createServer((req, res) => {
    const file = files[(req.url ?? '/').split('?')[0]!];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    const type = types[file.split('.').pop()!] ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
}

/**
 * Serves one spec page on 127.0.0.1: page/index.html, page/`script` as /page.js, the pages' shared
 * /common.js, the bundle as /rxchan.js, and `extra` (url path → absolute file).
 */
export async function servePage(
  script: string,
  extra: Record<string, string> = {},
): Promise<{ url: string; server: Server }> {
  const { file } = await browserBundle();
  const pages = join(ROOT, 'specs/browser/page');
  return serveStatic({
    '/': join(pages, 'index.html'),
    '/page.js': join(pages, script),
    '/common.js': join(pages, 'common.js'),
    '/rxchan.js': file,
    ...extra,
  });
}

/** Opens `url` in `page` and waits (10 s at most) for its script to set `window.pageReady`. */
export async function loadPage(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.waitForFunction(() => (globalThis as { pageReady?: boolean }).pageReady === true, null, {
    timeout: 10_000,
  });
}

/**
 * Chromium as this machine runs it: headless, as root (no sandbox), a fresh profile (deleted on close),
 * no network calls of its own. `ignoreHTTPSErrors`: accept the specs' self-signed certificates (wss://).
 */
export async function launchChromium(
  options: { ignoreHTTPSErrors?: boolean } = {},
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'rxchan-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    ...options,
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
