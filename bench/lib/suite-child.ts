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
 * Forking, readiness, stopping and the request protocol (an id per request, one answer each) are
 * ./child.ts's; this file adds the requests and what the child measures.
 */
import {
  type Forked,
  forkPeer,
  type Served as PeerServed,
  type Ports,
  servePeer,
  type ToChild,
  type ToParent,
} from './child.js';

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

/** A running child peer. */
export interface SuitePeer {
  readonly ports: Ports;
  readonly pid: number;
  /** Ask the child; rejects if it does not answer within `timeoutMs` (10 s) or has exited. */
  ask<O extends Op>(op: O, timeoutMs?: number): Promise<Answers[O]>;
  /** Ask the child to close and exit; SIGKILL if it has not exited within 5 s. Idempotent. */
  stop(): Promise<void>;
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
  const peer = await forkPeer(entry, args, {
    timeoutMs,
    execArgv: ['--expose-gc'],
    label: `suite peer ${args[0]}`,
  });
  const ask = requester(peer, 'suite peer');
  return {
    ports: peer.ports,
    pid: peer.pid,
    ask: <O extends Op>(op: O, ms = 10_000) => ask(op, ms) as Promise<Answers[O]>,
    stop: () => peer.stop(),
  };
}

/**
 * A running client child (see {@link spawnSuiteCaller}): it drives one system's client in a process of
 * its own and answers requests with what it measured.
 */
export interface SuiteCaller {
  readonly pid: number;
  /** Ask the child to run `op`; rejects with its failure, or if it does not answer within `timeoutMs`. */
  ask(op: string, timeoutMs: number): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Fork a client child (`entry` calls {@link serveSuiteCaller}): the client of one system runs alone in
 * its process, so no other system's heap, timers or JIT state weighs on its CPU time.
 */
export async function spawnSuiteCaller(
  entry: URL,
  args: readonly string[],
  timeoutMs = 15_000,
): Promise<SuiteCaller> {
  const peer = await forkPeer(entry, args, { timeoutMs, label: `suite caller ${args[0]}` });
  return { pid: peer.pid, ask: requester(peer, 'suite caller'), stop: () => peer.stop() };
}

/** Requests to a forked child: an id per request, one answer each, a timeout per request. */
function requester(peer: Forked, label: string): (op: string, ms: number) => Promise<unknown> {
  const { child } = peer;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`${label} exited (${code}) before answering`));
    pending.clear();
  });
  child.on('message', (m: ToParent) => {
    if (typeof m !== 'object' || !('id' in m)) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.failed !== undefined) p?.reject(new Error(`${label}: ${m.failed}`));
    else p?.resolve(m.answer);
  });
  let nextId = 1;
  return (op, ms) => {
    if (peer.exited()) return Promise.reject(new Error(`${label} has exited`));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${label} did not answer ${op} in ${ms} ms`));
      }, ms);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.send({ id, op } satisfies ToChild);
    });
  };
}

/** What a child's setup returns. */
export interface Served extends PeerServed {
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
 * Child side: ./child.ts's servePeer, answering the measuring requests (window, memory, stats).
 */
export function serveSuitePeer(setup: () => Promise<Served>): void {
  const window = new Window();
  servePeer(setup, async (served, op) => {
    switch (op as Op) {
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
    throw new Error(`unknown request ${op}`);
  });
}

/**
 * Child side of {@link spawnSuiteCaller}: run `setup` (connect the client), then answer each request
 * with `answer`; on 'stop', `close` and exit. A caller listens on nothing (its ports are empty).
 */
export function serveSuiteCaller<S>(
  setup: () => Promise<S & { close(): Promise<void> }>,
  answer: (client: S, op: string) => Promise<unknown>,
): void {
  servePeer(
    async () => {
      const client = await setup();
      return { ports: {}, close: () => client.close(), client };
    },
    (served, op) => answer(served.client, op),
  );
}
