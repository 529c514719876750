/**
 * Child processes of the suite benchmark, with a control channel: the parent forks a server (one system
 * per child, so its CPU time and memory are that system's alone) and asks it, over IPC, to measure itself.
 *
 * Parent: `const peer = await spawnSuitePeer(entry, args)`; `peer.ports`; `await peer.ask('window-begin')`
 * ... `await peer.ask('window-end')` (CPU time and peak RSS between the two); `await peer.ask('memory')`
 * (after a full GC); `await peer.ask('stats')` (what the server counts, e.g. calls in progress);
 * `peer.stop()`. Every peer ever spawned is also SIGKILLed when the parent exits, whatever the reason.
 * Child: `serveSuitePeer(async () => ({ ports, close, stats }))`. Children run with `--expose-gc`.
 *
 * Unlike ./child.ts (a 'stop' message only), requests carry an id and get one answer each.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** Named TCP ports the child listens on (127.0.0.1). */
export type Ports = Record<string, number>;

/** What a child measured about itself over a window. */
export interface WindowUsage {
  /** CPU time (user + system) of the child over the window, µs. */
  cpuUs: number;
  /** Largest RSS sampled during the window (every {@link RSS_SAMPLE_MS} ms, and at both ends), bytes. */
  peakRss: number;
}

/** The child's memory after `global.gc()` (run until the heap stops shrinking, at most 5 times), bytes. */
export interface MemoryUsage {
  rss: number;
  heapUsed: number;
  /** V8 `external`: memory of C++ objects bound to JS ones (Buffers and ArrayBuffers included). */
  external: number;
}

/** How often a child samples its RSS during a window, ms. */
export const RSS_SAMPLE_MS = 5;

type Op = 'window-begin' | 'window-end' | 'memory' | 'stats';
type Answers = {
  'window-begin': null;
  'window-end': WindowUsage;
  memory: MemoryUsage;
  stats: Record<string, number>;
};
type ToChild = { readonly id: number; readonly op: Op } | 'stop';
type ToParent =
  | { readonly ready: Ports }
  | { readonly error: string }
  | { readonly id: number; readonly answer?: unknown; readonly failed?: string };

/** A running child peer. */
export interface SuitePeer {
  readonly ports: Ports;
  readonly pid: number;
  /** Ask the child; rejects if it does not answer within `timeoutMs` (10 s) or has exited. */
  ask<O extends Op>(op: O, timeoutMs?: number): Promise<Answers[O]>;
  /** Ask the child to close and exit; SIGKILL if it has not exited within 5 s. Idempotent. */
  stop(): Promise<void>;
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
 * Fork `entry` with `--expose-gc` and wait (at most `timeoutMs`) for its ports. Rejects if the child
 * reports an error, exits early, or does not answer in time; in every failure case it is killed.
 */
export async function spawnSuitePeer(
  entry: URL,
  args: readonly string[],
  timeoutMs = 15_000,
): Promise<SuitePeer> {
  installExitHook();
  const prof = process.env.BENCH_CHILD_PROF;
  const child = fork(fileURLToPath(entry), [...args], {
    execArgv: ['--expose-gc', ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  let exited = false;
  const exit = once(child, 'exit').then(() => {
    exited = true;
    live.delete(child);
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`suite peer exited (${code}) before answering`));
    pending.clear();
  });
  try {
    const ports = await new Promise<Ports>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`suite peer ${args[0]} did not start in ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once('message', (m: ToParent) => {
        clearTimeout(timer);
        if ('ready' in m) resolve(m.ready);
        else if ('error' in m) reject(new Error(`suite peer ${args[0]} failed: ${m.error}`));
        else reject(new Error('suite peer answered before it was ready'));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`suite peer ${args[0]} exited with ${code} before it was ready`));
      });
    });
    child.on('message', (m: ToParent) => {
      if (typeof m !== 'object' || !('id' in m)) return;
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.failed !== undefined) p?.reject(new Error(`suite peer: ${m.failed}`));
      else p?.resolve(m.answer);
    });
    let nextId = 1;
    let stopping: Promise<void> | undefined;
    return {
      ports,
      pid: child.pid ?? -1,
      ask<O extends Op>(op: O, ms = 10_000): Promise<Answers[O]> {
        if (exited) return Promise.reject(new Error('suite peer has exited'));
        const id = nextId++;
        return new Promise<Answers[O]>((resolve, reject) => {
          const timer = setTimeout(() => {
            pending.delete(id);
            reject(new Error(`suite peer did not answer ${op} in ${ms} ms`));
          }, ms);
          pending.set(id, {
            resolve: (v) => {
              clearTimeout(timer);
              resolve(v as Answers[O]);
            },
            reject: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          });
          child.send({ id, op } satisfies ToChild);
        });
      },
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

/** What a child's setup returns. */
export interface Served {
  ports: Ports;
  close(): Promise<void>;
  /** Counters for 'stats' (e.g. calls in progress); default none. */
  stats?(): Record<string, number>;
}

/** Measures CPU time and peak RSS between 'window-begin' and 'window-end'. */
class Window {
  private cpu: NodeJS.CpuUsage | undefined;
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  begin(): void {
    this.end();
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage.rss());
    }, RSS_SAMPLE_MS);
    this.cpu = process.cpuUsage();
  }

  end(): WindowUsage {
    const cpu = process.cpuUsage(this.cpu);
    clearInterval(this.timer);
    this.timer = undefined;
    const usage = { cpuUs: cpu.user + cpu.system, peakRss: Math.max(this.peak, process.memoryUsage.rss()) };
    this.cpu = undefined;
    return usage;
  }
}

/** Full GC until the heap stops shrinking (at most 5 rounds, a macrotask apart so finalizers run). */
async function settledMemory(): Promise<MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the suite peer needs --expose-gc');
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    const used = process.memoryUsage().heapUsed;
    if (used >= last) break;
    last = used;
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

/**
 * Child side: run `setup`, report its ports, answer requests, and on 'stop' (or when the parent goes
 * away) call `close` and exit. A setup failure is reported to the parent and exits with code 1; a
 * failing request is answered with its message, never thrown out of the message handler.
 */
export function serveSuitePeer(setup: () => Promise<Served>): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('serveSuitePeer must run in a forked child (no IPC channel)');
  setup().then(
    (served) => {
      const window = new Window();
      let finishing = false;
      const finish = (): void => {
        if (finishing) return;
        finishing = true;
        window.end();
        const hardExit = setTimeout(() => process.exit(0), 4_000);
        hardExit.unref();
        served.close().finally(() => process.exit(0));
      };
      const answer = async (op: Op): Promise<unknown> => {
        switch (op) {
          case 'window-begin':
            window.begin();
            return null;
          case 'window-end':
            return window.end();
          case 'memory':
            return settledMemory();
          case 'stats':
            return served.stats?.() ?? {};
        }
      };
      process.on('message', (m: ToChild) => {
        if (m === 'stop') return finish();
        if (typeof m !== 'object' || m === null) return;
        answer(m.op).then(
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
