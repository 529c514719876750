/**
 * The server process is killed (SIGKILL: no close, no GoAway; the kernel resets its sockets) while a
 * client has calls and subscriptions pending on it, over mutual TLS 1.3. The server is a child process
 * (specs/support/fault-server.ts) so it can really die.
 *
 * Every pending call rejects UNAVAILABLE long before its deadline, every subscription errors
 * UNAVAILABLE, the client's tables are empty; when the server comes back on the same port with the
 * same identity, the same ref reconnects by itself (after its backoff) and reaches the new process.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ActorSystem, isRpcError } from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';
import type { Slow } from '../support/fault-server.js';
import { eventually } from './actors-pair.js';

const SERVER = fileURLToPath(new URL('../support/fault-server.js', import.meta.url));

interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly port: number;
  readonly pid: number;
  readonly exited: Promise<NodeJS.Signals | number | null>;
}

const children: Child[] = [];
after(async () => {
  for (const c of children) c.process.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
});

/** Starts the server child; resolves once it prints READY. Rejects with its stderr if it exits first. */
function startServer(seed: Buffer, clientKey: string, port: number): Promise<Child> {
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      FAULT_SEED: seed.toString('hex'),
      FAULT_CLIENT_KEY: clientKey,
      FAULT_PORT: String(port),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fault server not ready within 10 s: ${err}`));
    }, 10_000);
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.stdout.on('data', (c) => {
      out += c;
      const m = /READY (\d+) (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const started = { process: child, port: Number(m[1]), pid: Number(m[2]), exited };
        children.push(started);
        resolve(started);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`fault server exited (${String(code)}) before READY: ${err}`));
    });
  });
}

/** The same port again: it may take a moment for the old process's listening socket to be gone. */
async function restart(seed: Buffer, clientKey: string, port: number): Promise<Child> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer(seed, clientKey, port);
    } catch (err) {
      if (attempt === 10 || !/EADDRINUSE/.test(String(err))) throw err;
      await sleep(100);
    }
  }
}

describe('faults: the server process is killed (TLS)', () => {
  it('pending calls reject UNAVAILABLE before their deadline, subscriptions error, the ref reconnects to the new process', async (t) => {
    const seed = randomBytes(32);
    const serverKey = Identity.fromSeed(seed).id;
    const clientId = Identity.generate();
    const first = await startServer(seed, clientId.id, 0);
    const client = new ActorSystem({
      identity: clientId,
      config: { reconnectBaseMs: 50, reconnectMaxMs: 200, closeTimeoutMs: 300 },
      onError: (e) => {
        throw e;
      },
    });
    try {
      const slow = client.ref<Slow>('slow', { host: '127.0.0.1', port: first.port, key: serverKey });
      assert.equal(await slow.pid(), first.pid);

      const deadlineMs = 20_000;
      const calls = Array.from({ length: 20 }, () =>
        slow.withOptions({ timeoutMs: deadlineMs }).hold(60_000),
      );
      const settled = calls.map((c) =>
        c.then(
          () => 'resolved',
          (e: unknown) => e,
        ),
      );
      const counts = [0, 0];
      const subscriptions = counts.map(
        (_, i) =>
          new Promise<unknown>((resolve) =>
            slow
              .ticks(5)
              .subscribe({ next: () => counts[i]!++, error: resolve, complete: () => resolve('completed') }),
          ),
      );
      for (let active = 0; active < calls.length; active = await slow.active()) await sleep(5);
      await eventually(() => counts.every((n) => n >= 2), 'both subscriptions to receive items');

      const killedAt = Date.now();
      first.process.kill('SIGKILL');
      const results = await Promise.all(settled);
      const elapsed = Date.now() - killedAt;
      for (const r of results) assert.ok(isRpcError(r, 'UNAVAILABLE'), `UNAVAILABLE, got ${String(r)}`);
      assert.ok(
        elapsed < deadlineMs,
        `all rejected before the ${deadlineMs} ms deadline (took ${elapsed} ms)`,
      );
      t.diagnostic(`SIGKILL: ${calls.length} pending calls rejected UNAVAILABLE within ${elapsed} ms`);
      for (const s of subscriptions) {
        const end = await s;
        assert.ok(isRpcError(end, 'UNAVAILABLE'), `the subscription errors UNAVAILABLE, got ${String(end)}`);
      }
      assert.equal(await first.exited, 'SIGKILL');
      assert.equal(client.stats().pendingCalls, 0);
      // The calls fail as their streams do; the connection is counted out once its socket has closed.
      await eventually(() => client.stats().connections === 0, 'the lost connection to be counted out');

      // While it is down, calls fail fast (no hang) with UNAVAILABLE.
      await assert.rejects(slow.ping(), (e) => isRpcError(e, 'UNAVAILABLE'));

      const second = await restart(seed, clientId.id, first.port);
      let pid: number | undefined;
      const until = Date.now() + 10_000;
      while (pid === undefined) {
        try {
          pid = await slow.pid();
        } catch (err) {
          assert.ok(isRpcError(err, 'UNAVAILABLE'), String(err));
          if (Date.now() > until) throw new Error('the ref did not reconnect within 10 s');
          await sleep(20);
        }
      }
      assert.equal(pid, second.pid, 'the same ref reaches the new process');
      t.diagnostic(`reconnected to the restarted server ${Date.now() - killedAt} ms after the kill`);
      assert.notEqual(second.pid, first.pid);
      assert.equal(await slow.withOptions({ timeoutMs: 5_000 }).hold(1), 'held');
    } finally {
      await client.close();
    }
  });
});
