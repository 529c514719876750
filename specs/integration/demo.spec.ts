/**
 * Runs the compiled demos as child processes: the actor demo (`npm start`), and the channel-level demo
 * and subscription example. Each must exit 0, print its key lines, and print nothing on stderr, so the
 * demos cannot rot. (The other examples: examples.spec.ts.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/specs/integration/demo.spec.js -> dist/examples/
const examples = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');

function run(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(examples, file)], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('demos', () => {
  it('demo.js (npm start): actor calls, a subscription, a cancellation, a refused peer over TLS 1.3, exit 0', async () => {
    const { code, stdout, stderr } = await run('demo.js');
    assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr}`);
    const key = 'SHA256:[\\w-]{16}';
    const lines = [
      `demo: server ${key} listening on 127\\.0\\.0\\.1:\\d+, authorizes alice ${key}`,
      `demo: alice connected: TLSv1\\.3, server proved key ${key}`,
      'demo: call greeter\\.hello\\("bob"\\) -> "hello bob, you are alice to me"',
      'demo: call greeter\\.add\\(1, 2\\) -> 3',
      'demo: subscription greeter\\.countdown\\(3\\) -> 3, 2, 1, complete',
      'demo: subscription greeter\\.ticks\\(10\\) -> 0, 1, 2, then unsubscribe',
      'demo: server: ticks for alice torn down after \\d+ ticks \\(CANCELLED\\)',
      `demo: mallory ${key} \\(not authorized\\) -> UNAUTHENTICATED: .*\\(UNKNOWN_KEY\\): "key ${key} is not authorized"`,
      'demo: closed: server connections 0, alice pending calls 0',
      'demo: ok',
    ];
    // The lines, in this order, and nothing else.
    assert.match(stdout, new RegExp(`^${lines.join('\\n')}\\n$`));
    // The server's fingerprint is the one alice saw, and mallory's is the one refused.
    const [, server] = /demo: server (SHA256:\S+)/.exec(stdout)!;
    assert.ok(stdout.includes(`server proved key ${server}\n`), 'alice saw another server key');
    const [, mallory] = /demo: mallory (SHA256:\S+)/.exec(stdout)!;
    assert.ok(stdout.includes(`"key ${mallory} is not authorized"`), 'the refusal names another key');
    assert.equal(stderr, '');
  });

  it('channels/demo.js: request with a reply channel and a byte stream over TCP, exit 0', async () => {
    const { code, stdout, stderr } = await run(join('channels', 'demo.js'));
    assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr}`);
    assert.match(stdout, /channels: server listening on 127\.0\.0\.1:\d+/);
    assert.match(stdout, /channels: request "hello, channels" -> reply "HELLO, CHANNELS"/);
    assert.match(stdout, /channels: byte stream of 2097152 bytes -> sha256 [0-9a-f]{16}\.\.\. matches/);
    assert.match(stdout, /channels: ok\n/);
    assert.equal(stderr, '');
  });

  it('channels/subscription.js: cancel by breaking out of for-await, exit 0', async () => {
    const { code, stdout, stderr } = await run(join('channels', 'subscription.js'));
    assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr}`);
    assert.match(stdout, /subscription: client got 0, 1, 2 and stopped/);
    assert.match(stdout, /subscription: server saw CHANNEL_CANCELLED on "ticks"/);
    assert.match(stdout, /subscription: ok\n/);
    assert.equal(stderr, '');
  });
});
