/**
 * `closeOnSignals` in a real process (specs/support/signal-server.ts), sent real signals, with a
 * client over TLS 1.3: SIGTERM (or SIGINT) lets the calls in flight finish, runs onStop and exits 0; a
 * second signal exits at once with 128 + its number; a close that outlives `timeoutMs` exits 1; the
 * helper alone never keeps a process alive. In this process: the function it returns removes its
 * handlers.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ActorSystem, closeOnSignals, isRpcError } from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';
import type { Work } from '../support/signal-server.js';
import { eventually } from './actors-pair.js';

const SERVER = fileURLToPath(new URL('../support/signal-server.js', import.meta.url));

interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly port: number;
  /** Lines printed so far. */
  readonly lines: string[];
  /** Its exit code, or the signal that killed it. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

const children: ChildProcessWithoutNullStreams[] = [];
const clients: ActorSystem[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients.length = 0;
});

const clientId = Identity.generate();

/** Starts a signal server; resolves once it prints READY. Rejects with its stderr if it exits first. */
function start(env: Record<string, string>): Promise<Child & { serverKey: string }> {
  const seed = randomBytes(32);
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      SIGNAL_SEED: seed.toString('hex'),
      SIGNAL_CLIENT_KEY: clientId.id,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let partial = '';
  let err = '';
  child.stdout.on('data', (chunk) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on('data', (chunk) => {
    err += chunk;
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`signal server not ready within 10 s: ${err}`));
    }, 10_000);
    const poll = setInterval(() => {
      const ready = lines.find((l) => l.startsWith('READY '));
      if (ready === undefined) return;
      clearInterval(poll);
      clearTimeout(timer);
      const serverKey = Identity.fromSeed(seed).id;
      resolve({ process: child, port: Number(ready.slice(6)), lines, exited, serverKey });
    }, 5);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`signal server exited (${String(code)}) before READY: ${err}`));
    });
  });
}

/** A client of `child`, closed after the spec. */
function connect(child: { port: number; serverKey: string }) {
  const client = new ActorSystem({ identity: clientId, config: { closeTimeoutMs: 300 } });
  clients.push(client);
  return client.ref<Work>('work', { host: '127.0.0.1', port: child.port, key: child.serverKey });
}

/** Resolves with the exit within `ms`, or fails. */
async function exitWithin(child: Child, ms: number): Promise<number | NodeJS.Signals | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no exit within ${ms} ms; printed: ${child.lines.join(' | ')}`)),
      ms,
    );
  });
  try {
    return await Promise.race([child.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('closeOnSignals: a real process, real signals, a client over TLS', () => {
  it('SIGTERM: calls in flight finish, new ones are refused, onStop runs, the process exits 0', async () => {
    const child = await start({ SIGNAL_CLOSE_TIMEOUT_MS: '5000' });
    const work = connect(child);
    assert.equal(await work.ping(), 'pong');
    const inFlight = [work.hold(400), work.hold(401), work.hold(402)];
    await eventually(
      () => child.lines.filter((l) => l.startsWith('start ')).length === 3,
      'the calls to start',
    );
    const signalled = Date.now();
    child.process.kill('SIGTERM');
    await eventually(() => child.lines.includes('got SIGTERM'), 'the signal to arrive');
    await assert.rejects(work.ping(), (e) => isRpcError(e, 'UNAVAILABLE'));
    assert.deepEqual(await Promise.all(inFlight), ['held', 'held', 'held']);
    assert.equal(await exitWithin(child, 5_000), 0);
    const took = Date.now() - signalled;
    assert.ok(took < 2_000, `the process took ${took} ms to exit`);
    const tail = child.lines.filter((l) => /^(end|stopped|exit)/.test(l));
    assert.deepEqual(tail, ['end 400', 'end 401', 'end 402', 'stopped', 'exit 0']);
  });

  it('SIGINT does the same', async () => {
    const child = await start({ SIGNAL_CLOSE_TIMEOUT_MS: '5000' });
    const work = connect(child);
    const held = work.hold(200);
    await eventually(() => child.lines.includes('start 200'), 'the call to start');
    child.process.kill('SIGINT');
    assert.equal(await held, 'held');
    assert.equal(await exitWithin(child, 5_000), 0);
    assert.deepEqual(child.lines.slice(-2), ['stopped', 'exit 0']);
  });

  it('a second signal during the close exits at once with 128 + its number, without onStop', async () => {
    const child = await start({ SIGNAL_CLOSE_TIMEOUT_MS: '20000' });
    const work = connect(child);
    const held = work.hold(10_000).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await eventually(() => child.lines.includes('start 10000'), 'the call to start');
    child.process.kill('SIGTERM');
    await eventually(() => child.lines.includes('got SIGTERM'), 'the first signal to arrive');
    const second = Date.now();
    child.process.kill('SIGTERM');
    assert.equal(await exitWithin(child, 2_000), 143);
    assert.ok(Date.now() - second < 1_000, 'it exited at once');
    assert.ok(!child.lines.includes('stopped'), 'onStop did not run');
    assert.ok(isRpcError(await held, 'UNAVAILABLE'), 'the cut call failed UNAVAILABLE');

    const other = await start({ SIGNAL_CLOSE_TIMEOUT_MS: '20000' });
    const work2 = connect(other);
    const held2 = work2.hold(10_000).catch(() => undefined);
    await eventually(() => other.lines.includes('start 10000'), 'the call to start');
    other.process.kill('SIGINT');
    await eventually(() => other.lines.includes('got SIGINT'), 'the first signal to arrive');
    other.process.kill('SIGINT');
    assert.equal(await exitWithin(other, 2_000), 130);
    await held2;
  });

  it('a close that outlives timeoutMs (an onStop that hangs) exits 1', async () => {
    const child = await start({
      SIGNAL_MODE: 'hang',
      SIGNAL_CLOSE_TIMEOUT_MS: '100',
      SIGNAL_TIMEOUT_MS: '400',
    });
    const signalled = Date.now();
    child.process.kill('SIGTERM');
    assert.equal(await exitWithin(child, 3_000), 1);
    const took = Date.now() - signalled;
    assert.ok(took >= 380 && took < 1_500, `exited after ${took} ms for timeoutMs 400`);
    assert.ok(!child.lines.includes('stopped'));
  });

  it('does not keep a process alive on its own', async () => {
    const child = await start({ SIGNAL_MODE: 'idle' });
    assert.equal(await exitWithin(child, 3_000), 0);
    assert.deepEqual(child.lines, ['READY 0', 'exit 0']);
  });

  it('the function it returns removes its handlers; timeoutMs is checked', () => {
    const system = new ActorSystem();
    const before = ['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => process.listenerCount(s));
    const off = closeOnSignals(system);
    const offHup = closeOnSignals(system, { signals: ['SIGHUP'], timeoutMs: 0 });
    assert.deepEqual(
      ['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => process.listenerCount(s)),
      before.map((n) => n + 1),
    );
    off();
    offHup();
    off(); // idempotent
    assert.deepEqual(
      ['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => process.listenerCount(s)),
      before,
    );
    for (const timeoutMs of [-1, 1.5, Number.NaN]) {
      assert.throws(() => closeOnSignals(system, { timeoutMs }), TypeError);
    }
  });
});
