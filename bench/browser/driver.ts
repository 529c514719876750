/**
 * Drives a page in Chromium without the DevTools protocol: the page asks for its next step over HTTP
 * (POST /step with the previous step's result) and the runner answers with one. Playwright would attach
 * the DevTools protocol with network events on, which reports every WebSocket frame to the driver and
 * so taxes a client by the number of messages it sends; with this driver nothing watches the page.
 *
 * `const page = await openPage(files)`; `await page.step('inFlight', ...args)`; `await page.close()`.
 * Chromium is started headless on a fresh profile (deleted on close) and killed by its pid on close.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM } from '../../specs/browser/support.js';

/** A page that runs the steps it is given. */
export interface DrivenPage {
  /** The Chromium process (its descendants are the renderer, GPU and network processes). */
  readonly pid: number;
  /**
   * Run `op(...args)` in the page and resolve to what it returned. Rejects with the page's error, when
   * the page has not answered within `timeoutMs`, or when Chromium has exited.
   */
  step<T>(op: string, args: readonly unknown[], timeoutMs: number): Promise<T>;
  /** Tell the page it is done, stop Chromium (SIGKILL after 5 s) and the server. Idempotent. */
  close(): Promise<void>;
}

/** Headers of every file served: cross-origin isolated, so `performance.now()` is fine-grained. */
const HEADERS = {
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

/** Longest wait for the page's first request, ms. */
const START_MS = 30_000;
/** Largest result a page may post, bytes. */
const MAX_BODY = 1 << 20;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) req.destroy(new Error('result too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/**
 * Serve `files` (url path → [absolute file, content type]) and /step on 127.0.0.1, and open '/' in
 * Chromium. Resolves once the page has asked for its first step; rejects (with everything stopped) if it
 * does not within 30 s or Chromium exits first.
 */
export async function openPage(files: Record<string, readonly [string, string]>): Promise<DrivenPage> {
  /** The page's pending request for a step, answered by the next `step()`. */
  let asking: ServerResponse | undefined;
  /** The runner's pending step, settled by the page's next request. */
  let waiting: { resolve(v: unknown): void; reject(e: Error): void } | undefined;
  let failed: Error | undefined;
  let firstAsk: () => void = () => {};
  const firstAsked = new Promise<void>((resolve) => {
    firstAsk = resolve;
  });
  const fail = (err: Error) => {
    failed ??= err;
    waiting?.reject(err);
    waiting = undefined;
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/step' && req.method === 'POST') {
      readBody(req).then(
        (body) => {
          asking = res;
          const result = JSON.parse(body) as { ok?: unknown; error?: string; ready?: boolean } | null;
          firstAsk();
          const w = waiting;
          waiting = undefined;
          if (result?.error !== undefined) w?.reject(new Error(`the page failed: ${result.error}`));
          else w?.resolve(result?.ok);
        },
        (err: Error) => fail(err),
      );
      return;
    }
    const file = files[path];
    if (file === undefined) {
      res.writeHead(404, HEADERS).end();
      return;
    }
    res.writeHead(200, { ...HEADERS, 'content-type': file[1] }).end(readFileSync(file[0]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const profile = mkdtempSync(join(tmpdir(), 'rxchan-bench-chromium-'));
  const chromium: ChildProcess = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // A page in the background would have its timers throttled.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      `--user-data-dir=${profile}`,
      url,
    ],
    { stdio: 'ignore' },
  );
  const exited = once(chromium, 'exit').then(() => fail(new Error('Chromium exited')));

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      asking?.writeHead(200, { 'content-type': 'application/json' }).end('{"op":"done"}');
      asking = undefined;
      if (chromium.exitCode === null && chromium.signalCode === null) {
        chromium.kill('SIGTERM');
        const timer = setTimeout(() => chromium.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(profile, { recursive: true, force: true });
    })();
    return closing;
  };

  let startTimer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      firstAsked,
      exited.then(() => Promise.reject(failed)),
      new Promise((_, reject) => {
        startTimer = setTimeout(
          () => reject(new Error(`the page did not ask for a step within ${START_MS} ms`)),
          START_MS,
        );
      }),
    ]);
  } catch (err) {
    await close();
    throw err;
  } finally {
    clearTimeout(startTimer);
  }

  return {
    pid: chromium.pid ?? -1,
    close,
    step<T>(op: string, args: readonly unknown[], timeoutMs: number): Promise<T> {
      if (failed) return Promise.reject(failed);
      if (!asking || waiting) return Promise.reject(new Error('the page is not waiting for a step'));
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting = undefined;
          reject(new Error(`the page did not finish ${op} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting = {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        const res = asking!;
        asking = undefined;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ op, args }));
      });
    },
  };
}
