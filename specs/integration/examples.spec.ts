/**
 * Runs every compiled example under dist/examples/<name>/main.js as a child process: each must exit 0
 * (which also means it closed everything it opened: see examples/lib/run.ts), print its key lines, and
 * print nothing at all on stderr (no warnings either), so the examples cannot rot. The demos: demo.spec.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initdbPath, NO_POSTGRES } from '../support/postgres.js';

// dist/specs/integration/examples.spec.js -> dist/examples/
const examples = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');

function run(name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const main = join(examples, name, 'main.js');
    execFile(process.execPath, [main], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `name`, asserts exit 0, a clean stderr, each of `lines` (regexps, in this order), and the final ok. */
async function expectRun(name: string, lines: readonly string[]): Promise<string> {
  const { code, stdout, stderr } = await run(name);
  assert.equal(code, 0, `${name}: exit ${code}\n${stdout}\n${stderr}`);
  assert.equal(stderr, '', `${name}: stderr`);
  let from = 0;
  for (const line of [...lines, 'ok']) {
    const re = new RegExp(`^${name}: ${line}$`, 'm');
    const m = re.exec(stdout.slice(from));
    assert.ok(m, `${name}: no line /${line}/ after offset ${from} in\n${stdout}`);
    from += m.index + m[0].length;
  }
  assert.ok(stdout.endsWith(`${name}: ok\n`), `${name}: ok is not the last line`);
  return stdout;
}

describe('examples', () => {
  it('every example directory with a main.js is covered here', () => {
    const covered = ['calculator', 'chat', 'cluster', 'rexec', 'shop', 'ticker', 'worker'];
    const found = readdirSync(examples, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(examples, d.name, 'main.js')))
      .map((d) => d.name)
      .sort();
    assert.deepEqual(found, covered);
  });

  it('cluster: three node processes on PostgreSQL; kill -9 of one, its counters move with their counts', {
    skip: initdbPath() ? false : NO_POSTGRES,
  }, async () => {
    await expectRun('cluster', [
      '(a throwaway PostgreSQL in a temp folder|PostgreSQL at DATABASE_URL, schema rxchan_example)',
      'three nodes up: a=\\S+ b=\\S+ c=\\S+',
      't=1s( user-\\d=\\s*\\d+@[abc]){6}',
      't=\\d+\\.\\ds kill -9 node [abc], holding user-\\d(, user-\\d)*',
      'moved from [abc] to live nodes: .+',
      'no answered add was lost',
    ]);
  });

  it('worker: actors in a worker_threads worker over MessagePorts, keyed both ways; a callback, a cancelled stream, a call back', async () => {
    await expectRun('worker', [
      'the worker knows us as: main thread',
      'primes below 2,000,000: 148933, progress called back at 25, 50, 75 %',
      'a stream of primes, cancelled after 8: 2, 3, 5, 7, 11, 13, 17, 19',
      "the main thread's console got: worker says: primes is up",
      'worker exited by itself, code 0',
    ]);
  });

  it('calculator: results, 100 calls in flight, INVALID_ARGUMENT with details, deadlines on both sides', async () => {
    await expectRun('calculator', [
      'server SHA256:\\S+ listening on 127\\.0\\.0\\.1:\\d+',
      'add\\(2, 3\\) = 5',
      'multiply\\(6, 7\\) = 42',
      'divide\\(1, 4\\) = 0\\.25',
      '100 concurrent add\\(i, i\\) calls on one connection: all correct',
      'divide\\(1, 0\\) -> INVALID_ARGUMENT "division by zero", details \\{"dividend":1\\}',
      "slowSquare\\(3\\), 20 ms of work, the method's 500 ms deadline = 9",
      'slowSquare\\(4\\), 2000 ms of work, 500 ms deadline -> DEADLINE_EXCEEDED after ~\\d+ ms',
      'server stopped slowSquare\\(4\\): DEADLINE_EXCEEDED',
      'slowSquare\\(5\\), 2000 ms of work, 50 ms caller deadline -> DEADLINE_EXCEEDED after ~\\d+ ms',
      'server stopped slowSquare\\(5\\): DEADLINE_EXCEEDED',
    ]);
  });

  it('shop: interceptors, zod validation, a domain error, a masked error with its id, one trace over two hops', async () => {
    await expectRun('shop', [
      'server listening on 127\\.0\\.0\\.1:\\d+',
      'server: - local inventory\\.reserve -> OK',
      'server: r-1 client desk\\.order -> OK',
      "order\\('pen', 2\\): 2 pen reserved, 1 left",
      'server: r-2 client inventory\\.reserve -> INVALID_ARGUMENT',
      "reserve\\('pen', -1\\) -> INVALID_ARGUMENT, issue at argument 1: .+",
      'server: r-3 client inventory\\.reserve -> FAILED_PRECONDITION',
      'reserve\\(\'ink\', 1\\) -> FAILED_PRECONDITION reason OUT_OF_STOCK details \\{"sku":"ink","left":0\\}',
      'server: r-4 client inventory\\.audit -> INTERNAL',
      'audit\\(\\) -> INTERNAL "internal error \\(id <id>\\)"',
      "server onError, same id: ENOENT: no such file or directory, open '/srv/shop/audit-<request>\\.log'",
      'one trace for order\\(\\): desk/order CLIENT, desk/order SERVER, inventory/reserve CLIENT, inventory/reserve SERVER',
    ]);
  });

  it('ticker: unsubscribe and for-await break both reach the server, which tears the stream down', async () => {
    await expectRun('ticker', [
      'server: carol subscribed \\(1 live\\)',
      'client got ticks 0, 1, 2, 3, 4 and unsubscribed',
      'server: torn down: carol after \\d+ ticks: CANCELLED \\(0 live\\)',
      'server report: 0 live, ended: carol after \\d+ ticks: CANCELLED',
      'server: carol subscribed \\(1 live\\)',
      'client iterated ticks 0, 1, 2, 3, 4 and broke out of the loop',
      'server: torn down: carol after \\d+ ticks: CANCELLED \\(0 live\\)',
      'server report: 0 live, ended: carol after \\d+ ticks: CANCELLED',
    ]);
  });

  it('rexec: stdin, stdout, stderr as byte streams, exit status, deadline kill, allow-list', async () => {
    await expectRun('rexec', [
      'echo hello from rexec -> stdout "hello from rexec", exit 0',
      'cat < 1048576 random bytes -> 1048576 bytes back, sha256 [0-9a-f]{16}\\.\\.\\. matches, exit 0',
      'wc -l < 1000 lines -> stdout "1000", exit 0',
      'upper < "shout, please" -> stdout "SHOUT, PLEASE", stderr "upper: read 13 bytes", exit 0',
      'upper < \\(nothing\\) -> stderr "upper: no input", exit 1',
      'echo with unread stdin -> exit 0',
      'cat < endless stream, 300 ms deadline -> DEADLINE_EXCEEDED after \\d+ ms, \\d+ bytes sent',
      'server history: the endless cat was killed by SIGTERM',
      'rm -rf / -> PERMISSION_DENIED: command rm is not allowed \\(allowed: cat, echo, wc, upper\\)',
    ]);
  });

  it('chat: the room calls the clients back through the refs they passed, drops a client that went away', async () => {
    const stdout = await expectRun('chat', [
      'room listening on 127\\.0\\.0\\.1:\\d+',
      'alice joined \\(here before: no one\\)',
      'bob joined \\(here before: alice\\)',
      'carol joined \\(here before: alice, bob\\)',
      'alice said "hi all" -> delivered to 2',
      'bob said "hello alice" -> delivered to 2',
      'carol left',
      'bob closed his node without leaving',
      'alice said "anyone still here\\?" -> delivered to 0; room dropped bob: UNAVAILABLE',
      "inboxes got alice 4, bob 3, carol 2 messages, all from the room's key",
    ]);
    for (const delivery of ['[bob] alice: hi all', '[carol] alice: hi all', '[alice] bob: hello alice']) {
      assert.ok(stdout.includes(`chat: ${delivery}\n`), `missing delivery ${delivery}`);
    }
  });
});
