/**
 * rexec: run commands on a server, libchan's classic example, over mutual TLS 1.3 on 127.0.0.1 (one
 * process: a server system and a client system). The client's own Node streams travel inside the call:
 * it pipes its data into the command's stdin and reads stdout and stderr as they are written; the exit
 * status is the reply. Commands come from a fixed allow-list (./commands.ts).
 *
 * Run: `node dist/examples/rexec/main.js`. Exits 0 on success (see examples/lib/run.ts).
 */
import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { ActorSystem, Identity, isRpcError, type Peer, type Ref } from '../../src/index.js';
import { check, type Log, runExample, until } from '../lib/run.js';
import { type ExecResult, RemoteExec } from './rexec.js';

/** A Writable that keeps what is written to it; `done` resolves with it all once the writer ends. */
function sink(): { stream: Writable; done: Promise<Buffer> } {
  const chunks: Buffer[] = [];
  let finished: (b: Buffer) => void;
  const done = new Promise<Buffer>((resolve) => (finished = resolve));
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
    final(callback) {
      finished(Buffer.concat(chunks));
      callback();
    },
  });
  return { stream, done };
}

interface Output {
  result: ExecResult;
  stdout: Buffer;
  stderr: Buffer;
}

/** Run `command args...` with `input` as stdin (none: no stdin stream), collecting stdout and stderr. */
async function exec(
  rexec: Ref<RemoteExec>,
  command: string,
  args: string[],
  input?: Buffer[],
): Promise<Output> {
  const stdout = sink();
  const stderr = sink();
  const result = await rexec.run({
    command,
    args,
    ...(input ? { stdin: Readable.from(input) } : {}),
    stdout: stdout.stream,
    stderr: stderr.stream,
  });
  return { result, stdout: await stdout.done, stderr: await stderr.done };
}

const status = (r: ExecResult) => (r.signal ? `killed by ${r.signal}` : `exit ${r.code}`);

async function main(log: Log): Promise<void> {
  const serverId = Identity.generate();
  const clientId = Identity.generate();
  const server = new ActorSystem({
    identity: serverId,
    authorizedKeys: [{ key: clientId.id, name: 'dave' }],
  });
  await server.register(RemoteExec);
  const { host, port } = await server.listen();
  log(`server listening on ${host}:${port}`);

  const client = new ActorSystem({ identity: clientId });
  const peer: Peer = { host, port, key: serverId.id };
  try {
    const rexec = client.ref<RemoteExec>('rexec', peer);

    const echo = await exec(rexec, 'echo', ['hello', 'from', 'rexec']);
    check(
      echo.stdout.toString() === 'hello from rexec\n',
      `echo printed ${JSON.stringify(echo.stdout.toString())}`,
    );
    log(`echo hello from rexec -> stdout "${echo.stdout.toString().trimEnd()}", ${status(echo.result)}`);

    // 1 MiB of the client's data through cat and back: the bytes must survive the round trip.
    const data = randomBytes(1024 * 1024);
    const pieces = Array.from({ length: 16 }, (_, i) => data.subarray(i * 65_536, (i + 1) * 65_536));
    const cat = await exec(rexec, 'cat', [], pieces);
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);
    check(cat.stdout.equals(data), `cat returned ${cat.stdout.length} bytes that differ`);
    log(
      `cat < 1048576 random bytes -> ${cat.stdout.length} bytes back, sha256 ${digest(cat.stdout)}... matches, ${status(cat.result)}`,
    );

    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join('');
    const wc = await exec(rexec, 'wc', ['-l'], [Buffer.from(lines)]);
    check(wc.stdout.toString().trim() === '1000', `wc -l printed ${wc.stdout.toString()}`);
    log(`wc -l < 1000 lines -> stdout "${wc.stdout.toString().trim()}", ${status(wc.result)}`);

    const upper = await exec(rexec, 'upper', [], [Buffer.from('shout, please')]);
    check(upper.stdout.toString() === 'SHOUT, PLEASE' && upper.result.code === 0, 'upper failed');
    log(
      `upper < "shout, please" -> stdout "${upper.stdout}", stderr "${upper.stderr.toString().trimEnd()}", ${status(upper.result)}`,
    );

    const empty = await exec(rexec, 'upper', [], []);
    check(empty.result.code === 1, `upper on empty input: ${status(empty.result)}`);
    log(`upper < (nothing) -> stderr "${empty.stderr.toString().trimEnd()}", ${status(empty.result)}`);

    const ignored = await exec(rexec, 'echo', ['stdin', 'ignored'], pieces);
    log(`echo with unread stdin -> ${status(ignored.result)}`);

    // An endless stdin through cat, with a deadline: the call fails, the server kills cat.
    let sent = 0;
    const endless = new Readable({
      read() {
        sent += 65_536;
        this.push(Buffer.alloc(65_536, 0x61));
      },
    });
    const started = Date.now();
    try {
      await rexec
        .withOptions({ timeoutMs: 300 })
        .run({ command: 'cat', args: [], stdin: endless, stdout: sink().stream });
      throw new Error('cat of an endless stream ended');
    } catch (err) {
      if (!isRpcError(err, 'DEADLINE_EXCEEDED')) throw err;
      log(
        `cat < endless stream, 300 ms deadline -> ${err.code} after ${Date.now() - started} ms, ${sent} bytes sent`,
      );
    }
    await until(async () => (await rexec.history()).at(-1) === 'cat: SIGTERM', 'the server to kill cat');
    log('server history: the endless cat was killed by SIGTERM');

    try {
      await exec(rexec, 'rm', ['-rf', '/']);
      throw new Error('rm was run');
    } catch (err) {
      if (!isRpcError(err, 'PERMISSION_DENIED')) throw err;
      log(`rm -rf / -> ${err.code}: ${err.message}`);
    }
  } finally {
    await client.close();
    await server.close();
  }
}

runExample('rexec', main);
