/**
 * Run the serving side of a benchmark in a child process, so sender and receiver do not share one event loop
 * (on one loop, a benchmark measures how the two sides interleave, not how fast either is).
 *
 * Parent: `const peer = await spawnPeer(new URL('./lib/x-peer.js', import.meta.url))` forks the entry file,
 * waits for it to report the ports it listens on, and `peer.stop()` ends it.
 * Child (the entry file): `servePeer(async () => ({ ports, close }))` starts listeners and answers the parent.
 *
 * Set `BENCH_CHILD_PROF=<dir>` to run the child with `--cpu-prof` writing into `<dir>`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** Named TCP ports the child listens on (127.0.0.1). */
export type Ports = Record<string, number>;

/** Messages between parent and child over the IPC channel. */
type ToParent = { readonly ready: Ports } | { readonly error: string };
type ToChild = 'stop';

/** A running child peer. */
export interface ChildPeer {
  readonly ports: Ports;
  readonly pid: number;
  /** Ask the child to close its listeners and exit; kills it if it has not exited within 5 s. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Fork `entry` and wait (at most `timeoutMs`) for its ports. Rejects if the child reports an error, exits
 * early, or does not answer in time; in every failure case the child is killed.
 */
export async function spawnPeer(
  entry: URL,
  args: readonly string[] = [],
  timeoutMs = 10_000,
): Promise<ChildPeer> {
  const prof = process.env.BENCH_CHILD_PROF;
  const child: ChildProcess = fork(fileURLToPath(entry), [...args], {
    execArgv: prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited = false;
  const exit = once(child, 'exit').then(() => {
    exited = true;
  });
  try {
    const ports = await new Promise<Ports>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child ${entry.pathname} did not start in ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once('message', (m: ToParent) => {
        clearTimeout(timer);
        if ('ready' in m) resolve(m.ready);
        else reject(new Error(`child failed: ${m.error}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`child exited with ${code} before it was ready`));
      });
    });
    let stopping: Promise<void> | undefined;
    return {
      ports,
      pid: child.pid ?? -1,
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

/**
 * Child side: run `setup`, report its ports to the parent, and on 'stop' (or when the parent goes away)
 * call `close` and exit. A setup failure is reported to the parent and exits with code 1.
 */
export function servePeer(setup: () => Promise<{ ports: Ports; close: () => Promise<void> }>): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('servePeer must run in a forked child (no IPC channel)');
  setup().then(
    ({ ports, close }) => {
      const finish = (): void => {
        close().finally(() => process.exit(0));
      };
      process.once('message', (m: ToChild) => m === 'stop' && finish());
      process.once('disconnect', finish);
      send({ ready: ports } satisfies ToParent);
    },
    (err: unknown) => {
      send({ error: String(err) } satisfies ToParent, () => process.exit(1));
    },
  );
}
