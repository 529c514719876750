/**
 * examples/browser as a person uses it: the server started as a process (--dev-enrol, a free port),
 * its page opened in Chromium from the URL it prints. The page shows its key, enrols it under a name
 * through the development endpoint, sees the ticker's prices arrive, posts to the chat and sees its
 * message come back under its authorized name, next to one from a Node client over the same
 * WebSocket endpoint. The enrol endpoint refuses a wrong token, another origin, another host and a
 * form post. Then the spec takes the README's screenshot (examples/browser/screenshot.png) and stops
 * the server with SIGTERM: it exits 0 and has printed nothing on stderr. Without --dev-enrol there is
 * no endpoint: the page shows the authorized_keys line, and connects once that line is in the file.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { ActorSystem, Identity } from '../../src/index.js';
import { browserBundle, launchChromium, ROOT, skipBrowser } from './support.js';

/**
 * The README's screenshot: written to examples/browser/ with RXCHAN_UPDATE_SCREENSHOT=1, else to a temp
 * folder (a test run does not change the checkout; prices and times differ on every run).
 */
const SCREENSHOT =
  process.env.RXCHAN_UPDATE_SCREENSHOT === '1'
    ? join(ROOT, 'examples/browser/screenshot.png')
    : join(tmpdir(), `rxchan-example-screenshot-${process.pid}.png`);

interface Server {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** The URL printed to open, with its #enrol= token. */
  url: string;
  key: string;
}

/** Starts the example server; resolves once it has printed the URL to open (at most 15 s). */
function startServer(args: readonly string[] = ['--dev-enrol']): Promise<Server> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'dist/examples/browser/server.js'), ...args, '--port', '0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 15 s: ${stdout.join('')}`)), 15_000);
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr.join('')}`)));
    let key: string | undefined;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      stdout.push(s);
      const text = stdout.join('');
      key ??= /^browser: server key (\S+)$/m.exec(text)?.[1];
      const url = /^browser: open (http:\/\/127\.0\.0\.1:\d+\/(#enrol=\S+)?)/m.exec(text)?.[1];
      if (url !== undefined && key !== undefined) {
        clearTimeout(timer);
        resolve({ child, stdout, stderr, url, key });
      }
    });
  });
}

/** Sends `signal` to the server; resolves with its exit code (rejects after 10 s). */
async function stopServer(server: Server, signal: NodeJS.Signals): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', resolve));
  server.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the server did not exit within 10 s of ${signal}`)), 10_000);
  });
  return Promise.race([exited, late]).finally(() => clearTimeout(timer));
}

/** POST /enrol with the headers given (Host included); resolves with the status and the body. */
function postEnrol(
  base: URL,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: base.port, path: '/enrol', method: 'POST', headers, timeout: 5_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => {
          text += s;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.end(body);
  });
}

describe('examples/browser: the live page (Chromium)', { skip: skipBrowser }, () => {
  let server: Server;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let base: URL;
  let token: string;
  let nodeClient: ActorSystem | undefined;
  const pageErrors: string[] = [];

  // Locators, not page functions: this file is compiled without the DOM types, and the page's CSP
  // forbids evaluating strings.
  const state = (want: string) => page.locator(`body[data-state="${want}"]`).waitFor({ timeout: 15_000 });

  before(async () => {
    await browserBundle();
    server = await startServer();
    base = new URL(server.url);
    token = base.hash.slice('#enrol='.length);
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    await page.setViewportSize({ width: 1000, height: 540 });
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  after(async () => {
    await nodeClient?.close();
    await chromium?.close();
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
  });

  it('shows the page its key and offers the development enrolment', async () => {
    await page.goto(server.url);
    await state('enrol');
    assert.match((await page.textContent('#key-id')) ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.match((await page.textContent('#kind')) ?? '', /webcrypto, kept in IndexedDB/);
    assert.equal(await page.isVisible('#enrol'), true);
    assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
  });

  it('refuses enrolments without the token, from another origin or host, or as a form', async () => {
    const host = `127.0.0.1:${base.port}`;
    const json = { 'content-type': 'application/json', origin: `http://${host}`, host };
    const body = (t: string) => JSON.stringify({ id: Identity.generate().id, name: 'mallory', token: t });
    const cases: [string, Record<string, string>, string, number][] = [
      ['a wrong token', json, body('x'.repeat(token.length)), 403],
      ['another origin', { ...json, origin: 'https://evil.example' }, body(token), 403],
      ['no origin', { 'content-type': 'application/json', host }, body(token), 403],
      ['another host (DNS rebinding)', { ...json, host: `evil.example:${base.port}` }, body(token), 421],
      ['a form post', { ...json, 'content-type': 'application/x-www-form-urlencoded' }, body(token), 415],
    ];
    for (const [what, headers, payload, status] of cases) {
      const out = await postEnrol(base, headers, payload);
      assert.equal(out.status, status, `${what}: ${out.body}`);
    }
    assert.ok(!server.stdout.join('').includes('enrolled'), 'nothing was enrolled');
  });

  it('enrols the page as alice, who then sees prices arrive', async () => {
    await page.fill('#name', 'alice');
    await page.click('#enrol-button');
    await state('connected');
    assert.equal(await page.textContent('#status'), 'connected as alice');
    assert.equal(await page.isVisible('#enrol'), false, 'the enrol form is gone');
    const id = await page.textContent('#key-id');
    assert.match(server.stdout.join(''), new RegExp(`^browser: enrolled alice: ${id}$`, 'm'));
    await page.locator('#prices tr').nth(3).waitFor({ timeout: 10_000 });
    await page.locator('#ticks', { hasText: /^([3-9]|\d\d+) updates$/ }).waitFor({ timeout: 10_000 });
    const symbols = await page.$$eval('#prices tr', (rows) => rows.map((r) => r.getAttribute('data-symbol')));
    assert.deepEqual(symbols, ['RXJS', 'MSGP', 'YMUX', 'NACL']);
  });

  it("posts to the chat and sees the message under alice's authorized name, and bob's from Node", async () => {
    // A Node client over the same WebSocket endpoint, enrolled as bob (it can set any Origin header:
    // the Origin check stops other web pages, the token stops everyone else).
    const bob = Identity.generate();
    const host = `127.0.0.1:${base.port}`;
    const enrolled = await postEnrol(
      base,
      { 'content-type': 'application/json', origin: `http://${host}`, host },
      JSON.stringify({ id: bob.id, name: 'bob', token }),
    );
    assert.equal(enrolled.status, 200, enrolled.body);
    nodeClient = new ActorSystem({ identity: bob });
    const chat = nodeClient.ref<{ post(text: string): Promise<{ from: string }> }>('chat', {
      url: `ws://${host}/rxchan`,
      key: server.key,
    });
    assert.equal((await chat.post('hi alice, from a Node client')).from, 'bob');

    await page.fill('#text', 'hello from Chromium');
    await page.click('#send');
    await page.locator('#messages li').nth(1).waitFor({ timeout: 10_000 });
    const lines = await page.$$eval('#messages li', (items) =>
      items.map((li) => `${li.querySelector('b')!.textContent}${li.childNodes[1]!.textContent}`),
    );
    assert.deepEqual(lines, ['bob: hi alice, from a Node client', 'alice: hello from Chromium']);
    assert.equal(await page.inputValue('#text'), '', 'the input is cleared once the room took it');
    assert.deepEqual(pageErrors, []);
  });

  it('takes the screenshot for the README', async () => {
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: 10_000 });
    assert.ok(png.length > 10_000, `a screenshot of ${png.length} bytes`);
    if (process.env.RXCHAN_UPDATE_SCREENSHOT !== '1') rmSync(SCREENSHOT, { force: true });
  });

  it('stops on SIGTERM: exit 0, nothing on stderr', async () => {
    await nodeClient?.close();
    nodeClient = undefined;
    const code = await stopServer(server, 'SIGTERM');
    assert.equal(code, 0, server.stderr.join(''));
    assert.equal(server.stderr.join(''), '');
    assert.match(server.stdout.join(''), /^browser: closed$/m);
  });
});

describe('examples/browser without --dev-enrol: keys from an authorized_keys file (Chromium)', {
  skip: skipBrowser,
}, () => {
  let server: Server;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  const dir = mkdtempSync(join(tmpdir(), 'rxchan-example-keys-'));
  const file = join(dir, 'authorized_keys');

  before(async () => {
    await browserBundle();
    writeFileSync(file, '', { mode: 0o600 });
    server = await startServer(['--authorized-keys', file]);
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('has no enrol endpoint; the page shows the line to add, and connects once it is in the file', async () => {
    const page = await chromium.context.newPage();
    await page.goto(server.url);
    await page.locator('body[data-state="enrol"]').waitFor({ timeout: 15_000 });
    assert.equal(await page.isVisible('#enrol'), false);
    assert.equal(await page.isVisible('#enrol-by-hand'), true);
    const line = (await page.textContent('#key-line'))!;
    const host = new URL(server.url).host;
    const out = await postEnrol(
      new URL(server.url),
      { 'content-type': 'application/json', origin: `http://${host}`, host },
      JSON.stringify({ id: line.split(' ')[0], name: 'carol', token: '' }),
    );
    assert.equal(out.status, 405, 'POST /enrol does not exist without --dev-enrol');
    writeFileSync(file, line.replace('your-name', 'carol'));
    // The file is watched: a reload of the page after the server reloaded the file connects.
    const stop = Date.now() + 10_000;
    for (;;) {
      await page.reload();
      const connected = page.locator('body[data-state="connected"]');
      const done = await connected.waitFor({ timeout: 2_000 }).then(
        () => true,
        () => false,
      );
      if (done) break;
      assert.ok(Date.now() < stop, 'not connected within 10 s of writing authorized_keys');
    }
    assert.equal(await page.textContent('#status'), 'connected as carol');
    assert.equal(await stopServer(server, 'SIGINT'), 0, server.stderr.join(''));
    assert.equal(server.stderr.join(''), '');
  });
});
