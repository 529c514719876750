/**
 * Runs the compiled demo (`npm start`) and the channel examples as child processes: each must exit 0 and
 * print its key lines, so the examples cannot rot.
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

describe('examples', () => {
  it('demo.js: request with a reply channel and a byte stream over TCP, exit 0', async () => {
    const { code, stdout, stderr } = await run('demo.js');
    assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr}`);
    assert.match(stdout, /demo: server listening on 127\.0\.0\.1:\d+/);
    assert.match(stdout, /demo: request "hello, channels" -> reply "HELLO, CHANNELS"/);
    assert.match(stdout, /demo: byte stream of 2097152 bytes -> sha256 [0-9a-f]{16}\.\.\. matches/);
    assert.match(stdout, /demo: ok\n/);
    assert.equal(stderr, '');
  });

  it('channels/subscription.js: cancel by breaking out of for-await, exit 0', async () => {
    const { code, stdout, stderr } = await run(join('channels', 'subscription.js'));
    assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr}`);
    assert.match(stdout, /subscription: client got 0, 1, 2 and stopped/);
    assert.match(stdout, /subscription: server saw CHANNEL_CANCELLED on "ticks"/);
    assert.match(stdout, /subscription: ok\n/);
  });
});
