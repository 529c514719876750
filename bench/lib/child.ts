/**
 * Run the serving side of a benchmark in a child process, so sender and receiver do not share one event loop
 * (on one loop, a benchmark measures how the two sides interleave, not how fast either is).
 *
 * Parent: `const peer = await spawnPeer(new URL('./lib/x-peer.js', import.meta.url))` forks the entry file,
 * waits for it to report the ports it listens on, and `peer.stop()` ends it. ./suite-child.ts builds its
 * measuring peers on {@link forkPeer} and {@link servePeer}'s request hook. Every child ever forked is also
 * SIGKILLed when the parent exits, whatever the reason.
 * Child (the entry file): `servePeer(async () => ({ ports, close }))` starts listeners and answers the parent.
 *
 * Set `BENCH_CHILD_PROF=<dir>` to run the child with `--cpu-prof` writing into `<dir>`, and
 * `BENCH_CHILD_FLAGS` to pass it more Node flags (space-separated, e.g. `--trace-gc`).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** Named TCP ports the child listens on (127.0.0.1). */
export type Ports = Record<string, number>;

/** Messages between parent and child over the IPC channel: 'stop', or a request answered once by its id. */
export type ToParent =
  | { readonly ready: Ports }
  | { readonly error: string }
  | { readonly id: number; readonly answer?: unknown; readonly failed?: string };
export type ToChild = { readonly id: number; readonly op: string } | 'stop';

/** A running child peer. */
export interface ChildPeer {
  readonly ports: Ports;
  readonly pid: number;
  /** Ask the child to close its listeners and exit; kills it if it has not exited within 5 s. Idempotent. */
  stop(): Promise<void>;
}

/** A forked child that reported its ports (see {@link forkPeer}). */
export interface Forked extends ChildPeer {
  readonly child: ChildProcess;
  /** True once the child has exited. */
  exited(): boolean;
}

/** How {@link forkPeer} starts a child. */
export interface ForkOptions {
  /** Longest wait for the child's ports, ms. */
  timeoutMs: number;
  /** Node flags for the child (BENCH_CHILD_PROF's are added). */
  execArgv?: readonly string[];
  /** Names the child in errors. */
  label: string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kill every child still alive when this process exits (normally, on an error, or on SIGINT/SIGTERM). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const c of live) c.kill('SIGKILL');
      process.exit(130);
    });
  }
}

/**
 * Fork `entry` and wait (at most `timeoutMs`) for its ports. Rejects if the child reports an error, exits
 * early, or does not answer in time; in every failure case the child is killed.
 */
export async function forkPeer(entry: URL, args: readonly string[], options: ForkOptions): Promise<Forked> {
  const { timeoutMs, label } = options;
  installExitHook();
  const prof = process.env.BENCH_CHILD_PROF;
  const flags = process.env.BENCH_CHILD_FLAGS?.split(' ').filter((f) => f !== '') ?? [];
  const child: ChildProcess = fork(fileURLToPath(entry), [...args], {
    execArgv: [
      ...(options.execArgv ?? []),
      ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
      ...flags,
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  let exited = false;
  const exit = once(child, 'exit').then(() => {
    exited = true;
    live.delete(child);
  });
  try {
    const ports = await new Promise<Ports>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${label} did not start in ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once('message', (m: ToParent) => {
        clearTimeout(timer);
        if ('ready' in m) resolve(m.ready);
        else if ('error' in m) reject(new Error(`${label} failed: ${m.error}`));
        else reject(new Error(`${label} answered before it was ready`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${label} exited with ${code} before it was ready`));
      });
    });
    let stopping: Promise<void> | undefined;
    return {
      child,
      ports,
      pid: child.pid ?? -1,
      exited: () => exited,
      stop() {
        stopping ??= (async () => {
          if (exited) return;
          child.send('stop' satisfies ToChild);
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exit;
          clearTimeout(timer);
        })();
        return stopping;
      },
    };
  } catch (err) {
    if (!exited) child.kill('SIGKILL');
    throw err;
  }
}

/** {@link forkPeer} with defaults for a plain peer: no extra flags, 10 s to start. */
export async function spawnPeer(
  entry: URL,
  args: readonly string[] = [],
  timeoutMs = 10_000,
): Promise<ChildPeer> {
  const { ports, pid, stop } = await forkPeer(entry, args, { timeoutMs, label: `child ${entry.pathname}` });
  return { ports, pid, stop };
}

/** What a child's setup returns. */
export interface Served {
  ports: Ports;
  close(): Promise<void>;
}

/**
 * Child side: run `setup`, report its ports to the parent, answer each request with `answer` (if given),
 * and on 'stop' (or when the parent goes away) call `close` and exit (at most 4 s later). A setup failure
 * is reported to the parent and exits with code 1; a failing request is answered with its message, never
 * thrown out of the message handler.
 */
export function servePeer<S extends Served>(
  setup: () => Promise<S>,
  answer?: (served: S, op: string) => Promise<unknown>,
): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('servePeer must run in a forked child (no IPC channel)');
  setup().then(
    (served) => {
      let finishing = false;
      const finish = (): void => {
        if (finishing) return;
        finishing = true;
        const hardExit = setTimeout(() => process.exit(0), 4_000);
        hardExit.unref();
        served.close().finally(() => process.exit(0));
      };
      process.on('message', (m: ToChild) => {
        if (m === 'stop') return finish();
        if (typeof m !== 'object' || m === null) return;
        const reply = answer
          ? answer(served, m.op)
          : Promise.reject(new Error(`this peer answers no requests (${m.op})`));
        reply.then(
          (a) => send({ id: m.id, answer: a } satisfies ToParent),
          (err: unknown) => send({ id: m.id, failed: String(err) } satisfies ToParent),
        );
      });
      process.once('disconnect', finish);
      send({ ready: served.ports } satisfies ToParent);
    },
    (err: unknown) => {
      send({ error: String(err) } satisfies ToParent, () => process.exit(1));
    },
  );
}
