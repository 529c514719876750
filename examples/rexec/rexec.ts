/**
 * The rexec actor: libchan's classic remote exec. A request names an allowed command (./commands.ts)
 * and carries the caller's byte streams: the process's stdin is read from the caller's Readable, its
 * stdout and stderr are written into the caller's Writables, and the reply is the exit status.
 *
 * The byte streams are flow-controlled end to end: a command that writes faster than the caller reads
 * is paused by the multiplexer's window, not buffered without bound.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { actor, type CallContext, callContext, method } from '../../src/index.js';
import { resolveCommand } from './commands.js';

/** A request: the command, its arguments, and the streams to connect (each optional). */
export interface ExecRequest {
  command: string;
  args: string[];
  /** The process's stdin; none: stdin is closed at once. */
  stdin?: Readable;
  /** Receives the process's stdout; none: it is discarded. */
  stdout?: Writable;
  /** Receives the process's stderr; none: it is discarded. */
  stderr?: Writable;
}

/** How the process ended: its exit code, or the signal that killed it. */
export interface ExecResult {
  code: number | null;
  signal: string | null;
}

/** Up to 8 commands run at once; each is limited to 10 s unless the caller sets another deadline. */
@actor('rexec', { concurrency: 8 })
export class RemoteExec {
  /** How each started process ended, oldest first (the last 100): `command: exit N` or `command: SIGNAL`. */
  private readonly endings: string[] = [];

  /**
   * Run the command; resolves once it exited and its stdout and stderr were written out. Fails
   * PERMISSION_DENIED / INVALID_ARGUMENT for a request the allow-list refuses (nothing is started),
   * UNKNOWN when the command cannot be started. When the call's deadline passes or the caller cancels,
   * the process is killed.
   */
  @method({ timeoutMs: 10_000 })
  async run(request: ExecRequest): Promise<ExecResult> {
    const ctx = callContext();
    try {
      return await execute(request, ctx, ({ code, signal }) => {
        this.endings.push(`${request.command}: ${signal ?? `exit ${code}`}`);
        if (this.endings.length > 100) this.endings.shift();
      });
    } finally {
      release(request);
    }
  }

  /** How the last (up to 100) processes ended. */
  history(): string[] {
    return [...this.endings];
  }
}

/**
 * Start the command and connect its stdio to the request's streams; `onExit` runs when it exits
 * (killed or not); resolves when it exited and its output was written out. (A module function, not a method: every method of an actor class, `private`
 * ones included, is callable through a ref unless its name starts with `_`.)
 */
async function execute(
  request: ExecRequest,
  ctx: CallContext,
  onExit: (result: ExecResult) => void,
): Promise<ExecResult> {
  const program = resolveCommand(request.command, request.args);
  const child = spawn(program.file, program.args, {
    stdio: 'pipe',
    signal: ctx.signal,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
  });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('close', (code, signal) => resolve([code, signal]));
    // Also emitted when the call's signal kills the process; 'close' follows, so only a failure to
    // start counts here.
    child.on('error', (err) => {
      if (!ctx.signal.aborted) reject(err);
    });
  });

  // stdin: a command that exits without reading it all (echo) makes the pipe fail with EPIPE; that
  // is how it ends, not an error of the call. The caller's stream is released either way.
  if (request.stdin) pipeline(request.stdin, child.stdin).catch(() => request.stdin?.destroy());
  else child.stdin.end();
  const outputs = [
    request.stdout ? pipeline(child.stdout, request.stdout) : drain(child.stdout),
    request.stderr ? pipeline(child.stderr, request.stderr) : drain(child.stderr),
  ];
  const [code, signal] = await exited;
  onExit({ code, signal });
  await Promise.all(outputs);
  return { code, signal };
}

/**
 * Destroy the request's streams that did not end (a refused request, a killed process): each is a
 * channel that would otherwise stay open, for the caller and for this connection, until the connection
 * closes. Streams that ended are left alone (their last bytes may still be on their way).
 */
function release(request: ExecRequest): void {
  if (request.stdin && !request.stdin.readableEnded) request.stdin.destroy();
  for (const out of [request.stdout, request.stderr]) if (out && !out.writableFinished) out.destroy();
}

async function drain(stream: Readable): Promise<void> {
  stream.resume();
  await once(stream, 'end');
}
