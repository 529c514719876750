/**
 * `rxchan ping`, `list` and `call` against a real server in this process (TLS 1.3 on 127.0.0.1, real
 * key files), running the compiled CLI as a child process, as a shell would.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { interval, type Observable } from 'rxjs';
import { ActorSystem, actor, callContext, method, RpcError } from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';

// dist/specs/cli/remote.spec.js -> dist/src/cli.js
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli.js');
/** Longest a child may run before the spec kills it. */
const CHILD_TIMEOUT_MS = 20_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI; `lines()` resolves once stdout has `n` lines; `done` when it exits. */
function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, RXCHAN_ID: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    const have = stdout.split('\n').length - 1;
    for (const w of waiters.filter((w) => have >= w.n)) w.resolve();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  const done = new Promise<Run>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      // 'exit' can come before the last output: wait for the pipes to close too.
      child.on('close', () => resolve({ code, signal, stdout, stderr }));
    });
  });
  return {
    child,
    done,
    lines: (n: number) =>
      new Promise<void>((resolve) => {
        if (stdout.split('\n').length - 1 >= n) resolve();
        else waiters.push({ n, resolve });
      }),
  };
}

const rxchan = (...args: string[]) => start(args).done;

/** The handler signals of `ticks.count` calls, in the order they started. */
const streams: Array<{ aborted: Promise<unknown> }> = [];

@actor('calc')
class Calc {
  @method({})
  add(a: number, b: number): number {
    return a + b;
  }
  echo(value: unknown): unknown {
    return value;
  }
  meta(): Record<string, string> {
    return { ...callContext().metadata };
  }
  fail(): never {
    throw new RpcError('INVALID_ARGUMENT', 'no such thing', { details: { field: 'x' } });
  }
  async slow(): Promise<string> {
    const { signal } = callContext();
    await sleep(10_000, undefined, { signal });
    return 'late';
  }
  bytes(): Readable {
    return Readable.from([Buffer.from('abc')]);
  }
  _private(): string {
    return 'hidden';
  }
}

@actor('ticks')
class Ticks {
  // Observable is imported as a type only (as linters ask): its kind must be declared.
  @method({ kind: 'stream' })
  count(): Observable<number> {
    const { signal } = callContext();
    streams.push({
      aborted: new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason))),
    });
    return interval(20);
  }
}

@actor('admin', { allow: ['ops'] })
class Admin {
  @method({})
  async restart(): Promise<string> {
    return 'restarted';
  }
}

describe('rxchan ping, list and call against a server', () => {
  let dir: string;
  let server: ActorSystem;
  let serverId: Identity;
  let address: string;
  const files = { alice: '', ops: '', stranger: '' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxchan-cli-remote-'));
    const ids: Record<string, Identity> = {};
    for (const name of Object.keys(files) as Array<keyof typeof files>) {
      ids[name] = Identity.generate();
      files[name] = join(dir, `${name}.key`);
      await ids[name].save(files[name]);
    }
    serverId = Identity.generate();
    server = new ActorSystem({
      identity: serverId,
      authorizedKeys: [
        { key: ids.alice!.id, name: 'alice' },
        { key: ids.ops!.id, name: 'ops' },
      ],
      config: { closeTimeoutMs: 500 },
    });
    await server.register(Calc);
    await server.register(Ticks);
    await server.register(Admin);
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    address = `127.0.0.1:${port}`;
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const as = (who: keyof typeof files, ...rest: string[]) => [
    address,
    '--key',
    serverId.id,
    '--id',
    files[who],
    ...rest,
  ];

  it('ping prints the verified server key, its version and the round-trip times', async () => {
    const r = await rxchan('ping', ...as('alice', '-c', '3', '-i', '0'));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`server key ${serverId.id} (verified`), r.stdout);
    assert.match(r.stdout, /server rxchan \d+\.\d+\.\d+/);
    assert.equal(r.stdout.match(/seq=\d time=\d+\.\d{3} ms/g)?.length, 3, r.stdout);
    assert.match(r.stdout, /3 replies, rtt min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms/);
  });

  it('ping without --key shows the key it saw as not verified; the identity may come from $RXCHAN_ID', async () => {
    const r = await start(['ping', address, '-c', '1'], { RXCHAN_ID: files.alice }).done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`server key ${serverId.id} (NOT verified`), r.stdout);
    const none = await rxchan('ping', address, '-c', '1');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /needs --id KEYFILE/);
  });

  it('list shows each key only the actors and methods it may call, with their kinds', async () => {
    const alice = await rxchan('list', ...as('alice'));
    assert.equal(alice.code, 0, alice.stderr);
    const rows = alice.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    assert.deepEqual(rows[0], ['ACTOR', 'METHOD', 'KIND']);
    assert.deepEqual(rows.slice(1), [
      ['calc', 'add', 'unary'],
      ['calc', 'bytes', 'unknown'],
      ['calc', 'echo', 'unknown'],
      ['calc', 'fail', 'unknown'],
      ['calc', 'meta', 'unknown'],
      ['calc', 'slow', 'unknown'],
      ['rxchan.reflection', 'list', 'unary'],
      ['rxchan.reflection', 'ping', 'unary'],
      ['ticks', 'count', 'stream'],
    ]);
    const ops = await rxchan('list', ...as('ops', '--json'));
    assert.equal(ops.code, 0, ops.stderr);
    const reply = JSON.parse(ops.stdout) as Array<{ actor: string; methods: unknown[] }>;
    assert.deepEqual(
      reply.map((a) => a.actor),
      ['admin', 'calc', 'rxchan.reflection', 'ticks'],
    );
    assert.deepEqual(reply[0]!.methods, [{ name: 'restart', kind: 'unary' }]);
  });

  it('call passes JSON arguments and metadata and prints the result as JSON', async () => {
    const add = await rxchan('call', ...as('alice', 'calc.add', '1', '2'));
    assert.deepEqual([add.code, add.stdout, add.stderr], [0, '3\n', '']);
    const negative = await rxchan('call', ...as('alice', 'calc.add', '--', '-1', '-2'));
    assert.equal(negative.stdout, '-3\n', negative.stderr);
    const meta = await rxchan('call', ...as('alice', '-m', 'request-id=42', '-m', 'k=a=b', 'calc.meta'));
    assert.deepEqual(JSON.parse(meta.stdout), { 'request-id': '42', k: 'a=b' });
    const value = '{"b":{"$bytes":"AQID"},"n":{"$bigint":"9007199254740993"},"s":["x",null]}';
    const echo = await rxchan('call', ...as('alice', 'calc.echo', value));
    assert.equal(echo.stdout, `${value}\n`, echo.stderr);
  });

  it('a stream prints one item per line until SIGINT, which cancels the call on the server; exit 130', async () => {
    const before = streams.length;
    const run = start(['call', ...as('alice', 'ticks.count')]);
    await run.lines(3);
    assert.equal(streams.length, before + 1);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').slice(0, 3), ['0', '1', '2']);
    const reason = await Promise.race([streams[before]!.aborted, sleep(5_000, 'not cancelled')]);
    assert.ok(reason instanceof RpcError && reason.code === 'CANCELLED', String(reason));
  });

  it('a failed call prints CODE: message and its details, and exits 10 + the code number', async () => {
    const failed = await rxchan('call', ...as('alice', 'calc.fail'));
    assert.equal(failed.code, 13);
    assert.equal(failed.stdout, '');
    assert.match(failed.stderr, /^INVALID_ARGUMENT: no such thing\ndetails: \{"field":"x"\}\n$/);
    const cases: Array<[string[], number, string]> = [
      [as('alice', 'nobody.thing'), 15, 'NOT_FOUND'],
      [as('alice', 'admin.restart'), 17, 'PERMISSION_DENIED'],
      [as('alice', 'calc._private'), 22, 'UNIMPLEMENTED'],
      [as('alice', '--timeout', '100', 'calc.slow'), 14, 'DEADLINE_EXCEEDED'],
    ];
    for (const [args, code, name] of cases) {
      const r = await rxchan('call', ...args);
      assert.equal(r.code, code, `${name}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(`${name}: `), r.stderr);
    }
    const bytes = await rxchan('call', ...as('alice', 'calc.bytes'));
    assert.equal(bytes.code, 1, bytes.stderr);
    assert.match(bytes.stderr, /cannot print the result as JSON/);
    const ops = await rxchan('call', ...as('ops', 'admin.restart'));
    assert.equal(ops.stdout, '"restarted"\n');
  });

  it('an unauthorized key, or a server that is not the pinned key, is UNAUTHENTICATED (exit 26)', async () => {
    const stranger = await rxchan('call', ...as('stranger', 'calc.add', '1', '2'));
    assert.equal(stranger.code, 26, stranger.stderr);
    assert.match(stranger.stderr, /^UNAUTHENTICATED: /);
    const other = Identity.generate().id;
    const pinned = await rxchan('list', address, '--key', other, '--id', files.alice);
    assert.equal(pinned.code, 26, pinned.stderr);
    assert.match(pinned.stderr, /^UNAUTHENTICATED: .*SERVER_KEY_MISMATCH/);
  });

  it('bad usage exits 2 before connecting: a bad JSON argument, a bad address or key, no --key', async () => {
    const cases = [
      ['call', ...as('alice', 'calc.add', '1', '{nope')],
      ['call', ...as('alice', 'calc.echo', '{"$bytes":"not base64!"}')],
      ['call', ...as('alice', 'calcadd')],
      ['call', '127.0.0.1', '--key', serverId.id, '--id', files.alice, 'calc.add'],
      ['call', address, '--key', 'short', '--id', files.alice, 'calc.add'],
      ['call', address, '--id', files.alice, 'calc.add'],
      ['list', address, '--id', files.alice],
      ['ping', ...as('alice', '-c', '0')],
    ];
    const runs = await Promise.all(cases.map((args) => rxchan(...args)));
    for (const [i, r] of runs.entries()) assert.equal(r.code, 2, `${cases[i]!.join(' ')}: ${r.stderr}`);
  });
});
