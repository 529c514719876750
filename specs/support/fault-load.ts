/**
 * The load driver shared by specs/integration/load.spec.ts (a small configuration, in `npm test`) and
 * scripts/soak.mjs (the 200 x 500 and bigger, for minutes).
 *
 * One server ActorSystem listens over mutual TLS 1.3 on 127.0.0.1; `connections` client systems each
 * dial it (one connection each) and make `callsPerConnection` calls, `inflight` at a time, all
 * connections at once. Every call carries a unique id; the handler counts how many times it ran for
 * each id and how many replies it produced, and answers the id. A share of the calls gets a short
 * random deadline, another share is cancelled after a random delay (both spread from 1 ms to 2 s, so
 * they race the answer both ways); the rest must simply succeed.
 *
 * It reports what a correct system must show: no call lost (every promise settles), none run or
 * answered twice, every reply the caller's own, every plain call answered, every deadline or cancel
 * ending as DEADLINE_EXCEEDED / CANCELLED or (if the answer won the race) its value; every stream table
 * back to the mailbox channels, every counter to 0; and RSS against its baseline after GC.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ActorSystem, actor, callContext, isRpcError, type Ref } from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';
import { muxSessions, openStreams, streamsOf } from './fault-probe.js';

export interface LoadOptions {
  /** Client connections, all at once. */
  connections: number;
  /** Calls each connection makes. */
  callsPerConnection: number;
  /** Calls in flight per connection. Default 20. */
  inflight?: number;
  /** Share of calls with a random deadline of 1..2000 ms (log-uniform). Default 0.1. */
  deadlineShare?: number;
  /** Share of calls cancelled after 0..2000 ms (log-uniform). Default 0.1. */
  cancelShare?: number;
  /** The handler waits 0..maxDelayMs ms (random) before answering. Default 3. */
  maxDelayMs?: number;
  /** Give up waiting for calls to settle after this long, ms: what is left is lost. Default 60 s. */
  settleTimeoutMs?: number;
  /** Seed of the random choices. Default 1. */
  seed?: number;
}

export interface LoadResult {
  connections: number;
  calls: number;
  ok: number;
  /** Of the ok calls: those with a deadline or a cancel that the answer beat. */
  beatTheEnd: { deadline: number; cancel: number };
  deadlineExceeded: number;
  cancelled: number;
  /** Calls that failed otherwise, by code (must be empty). */
  otherErrors: Record<string, number>;
  /** The first message seen for each error code, to tell what went wrong. */
  sampleErrors: Record<string, string>;
  /** Plain calls (no deadline, no cancel) that did not succeed (must be 0). */
  plainFailed: number;
  /** Calls whose promise never settled (must be 0). */
  lost: number;
  /** Ids whose handler ran more than once (must be 0). */
  ranTwice: number;
  /** Ids the server answered more than once (must be 0). */
  answeredTwice: number;
  /** Successful calls whose value was not their own id (must be 0). */
  wrongReply: number;
  /** Successful calls the handler never answered (must be 0). */
  okWithoutAnswer: number;
  /** Time to connect every client (16 handshakes at a time), ms; not part of elapsedMs. */
  connectMs: number;
  /** Time for every call to settle, ms, from when all clients were connected. */
  elapsedMs: number;
  callsPerSecond: number;
  /** Streams open on the server / on all clients once every call settled: none (a call is one stream). */
  streamsAfter: { server: number; clients: number; expected: number; settleMs: number };
  /** Counters once every call settled (all must be 0). */
  countersAfter: { served: number; pending: number; buffered: number };
  /** Server connections after the clients closed (must be 0). */
  connectionsAfterClose: number;
  /** MiB. `gc` says whether a forced GC ran before each figure (else they are noisy). */
  rss: { baseline: number; peak: number; after: number; gc: boolean };
  /** V8 heap in use, MiB, at the baseline and after (with the same GC). */
  heap: { baseline: number; after: number };
}

/** Counts per call id, on the server. */
const served = { ran: new Map<number, number>(), answered: new Map<number, number>() };

@actor('load', { concurrency: 256 })
export class LoadTarget {
  async work(id: number, delayMs: number): Promise<number> {
    const ctx = callContext();
    served.ran.set(id, (served.ran.get(id) ?? 0) + 1);
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: ctx.signal });
    served.answered.set(id, (served.answered.get(id) ?? 0) + 1);
    return id;
  }
}

/** A forced GC, when one can be had: `--expose-gc`, or the V8 flag set at run time. */
export function gcFunction(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    return typeof fn === 'function' ? (fn as () => void) : undefined;
  } catch {
    return undefined;
  }
}

const mib = (bytes: number) => Math.round((bytes / (1024 * 1024)) * 10) / 10;

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** 1..2000, log-uniform. */
function spread(random: () => number): number {
  return Math.max(1, Math.round(Math.exp(random() * Math.log(2000))));
}

async function settleMemory(gc: (() => void) | undefined): Promise<{ rss: number; heap: number }> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(20);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

type Outcome = 'ok' | 'wrong' | 'DEADLINE_EXCEEDED' | 'CANCELLED' | string;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const inflight = options.inflight ?? 20;
  const deadlineShare = options.deadlineShare ?? 0.1;
  const cancelShare = options.cancelShare ?? 0.1;
  const maxDelay = options.maxDelayMs ?? 3;
  const random = rng(options.seed ?? 1);
  served.ran.clear();
  served.answered.clear();
  const gc = gcFunction();

  const serverId = Identity.generate();
  const clientId = Identity.generate();
  const fail = (e: unknown) => {
    throw e;
  };
  const server = new ActorSystem({
    identity: serverId,
    authorizedKeys: [{ key: clientId.id, name: 'load' }],
    onError: fail,
    config: { closeTimeoutMs: 1_000 },
  });
  await server.register(LoadTarget);
  // Every client dials from 127.0.0.1, up to 16 at once: one source, as behind a NAT (SECURITY.md).
  const { port } = await server.listen({ maxHandshakesPerAddress: 64 });
  const peer = { host: '127.0.0.1', port, key: serverId.id };

  // Warm up (TLS, JIT, the first certificate) so the baseline is not the empty process.
  const warm = new ActorSystem({ identity: clientId, onError: fail });
  const warmRef = warm.ref<LoadTarget>('load', peer);
  for (let i = 0; i < 200; i++) await warmRef.work(-1 - i, 0);
  await warm.close();
  served.ran.clear();
  served.answered.clear();
  const baseline = await settleMemory(gc);
  let peak = baseline.rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);

  const clients = Array.from(
    { length: options.connections },
    () => new ActorSystem({ identity: clientId, onError: fail, config: { closeTimeoutMs: 1_000 } }),
  );
  // Connect every client first, 16 handshakes at a time: in one process, established connections
  // blasting calls would starve the remaining TLS handshakes past their timeout, which measures the
  // test, not the system.
  const connectStart = performance.now();
  const pending = [...clients.keys()];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let c = pending.shift(); c !== undefined; c = pending.shift()) {
        await clients[c]!.ref<LoadTarget>('load', peer).work(-1 - c, 0);
      }
    }),
  );
  const connectMs = Math.round(performance.now() - connectStart);
  served.ran.clear();
  served.answered.clear();
  const samples: Record<string, string> = {};
  const outcomes = new Map<
    number,
    { kind: 'plain' | 'deadline' | 'cancel'; outcome?: Outcome; settled: number }
  >();
  const start = performance.now();

  const drive = async (client: ActorSystem, c: number) => {
    const ref: Ref<LoadTarget> = client.ref<LoadTarget>('load', peer);
    let next = 0;
    const lane = async () => {
      while (next < options.callsPerConnection) {
        const id = c * options.callsPerConnection + next++;
        const r = random();
        const delay = Math.floor(random() * (maxDelay + 1));
        const kind = r < deadlineShare ? 'deadline' : r < deadlineShare + cancelShare ? 'cancel' : 'plain';
        const entry: { kind: typeof kind; outcome?: Outcome; settled: number } = { kind, settled: 0 };
        outcomes.set(id, entry);
        let call: Promise<number>;
        let timer: NodeJS.Timeout | undefined;
        // Deadlines and cancels race the answer, whose latency under this load is anywhere from 1 ms
        // to seconds: their times are spread log-uniformly over 1..2000 ms so that both win often.
        if (kind === 'deadline') {
          call = ref.withOptions({ timeoutMs: spread(random) }).work(id, delay);
        } else if (kind === 'cancel') {
          const ac = new AbortController();
          timer = setTimeout(() => ac.abort(), spread(random) - 1);
          call = ref.withOptions({ signal: ac.signal }).work(id, delay);
        } else {
          call = ref.work(id, delay);
        }
        try {
          const v = await call;
          entry.outcome = v === id ? 'ok' : 'wrong';
        } catch (err) {
          entry.outcome = isRpcError(err) ? err.code : `not an RpcError: ${String(err)}`;
          samples[entry.outcome] ??= err instanceof Error ? err.message : String(err);
        } finally {
          clearTimeout(timer);
          entry.settled++;
        }
      }
    };
    await Promise.all(Array.from({ length: inflight }, lane));
  };

  const all = Promise.all(clients.map(drive));
  const giveUp = new AbortController();
  await Promise.race([
    all,
    sleep(options.settleTimeoutMs ?? 60_000, undefined, { signal: giveUp.signal }).catch(() => {}),
  ]);
  giveUp.abort();
  const elapsedMs = performance.now() - start;

  // Let the server finish what the cancels left running (their handlers abort), then read the tables.
  const until = Date.now() + 5_000;
  while (server.stats().servedCalls > 0 && Date.now() < until) await sleep(5);
  const clientStreams = () => clients.reduce((n, c) => n + openStreams(c), 0);
  const settledAt = performance.now();
  while ((openStreams(server) !== 0 || clientStreams() !== 0) && Date.now() < until) {
    await sleep(5);
  }
  if (process.env.LOAD_DEBUG) {
    for (const c of clients) {
      for (const m of muxSessions(c)) {
        if (m.streamCount > 0) {
          console.error(
            'client streams',
            streamsOf(m).map((x) => [x.id, x.state, x.queuedBytes, x.bufferedBytes]),
          );
        }
      }
    }
  }
  const streamsSettleMs = Math.round(performance.now() - settledAt);
  const streamsAfter = {
    server: openStreams(server),
    clients: clientStreams(),
    expected: 0,
    settleMs: streamsSettleMs,
  };
  const countersAfter = {
    served: server.stats().servedCalls,
    pending: clients.reduce((n, c) => n + c.stats().pendingCalls, 0),
    buffered: server.stats().bufferedItems + clients.reduce((n, c) => n + c.stats().bufferedItems, 0),
  };

  await Promise.all(clients.map((c) => c.close()));
  const closeUntil = Date.now() + 5_000;
  while (server.stats().connections > 0 && Date.now() < closeUntil) await sleep(5);
  const connectionsAfterClose = server.stats().connections;
  clearInterval(sampler);
  clients.length = 0;

  const result: LoadResult = {
    connections: options.connections,
    calls: options.connections * options.callsPerConnection,
    ok: 0,
    beatTheEnd: { deadline: 0, cancel: 0 },
    deadlineExceeded: 0,
    cancelled: 0,
    otherErrors: {},
    sampleErrors: samples,
    plainFailed: 0,
    lost: 0,
    ranTwice: 0,
    answeredTwice: 0,
    wrongReply: 0,
    okWithoutAnswer: 0,
    connectMs,
    elapsedMs: Math.round(elapsedMs),
    callsPerSecond: Math.round((options.connections * options.callsPerConnection * 1000) / elapsedMs),
    streamsAfter,
    countersAfter,
    connectionsAfterClose,
    rss: { baseline: mib(baseline.rss), peak: mib(peak), after: 0, gc: gc !== undefined },
    heap: { baseline: mib(baseline.heap), after: 0 },
  };
  result.lost = result.calls - outcomes.size;
  for (const [id, e] of outcomes) {
    if (e.settled !== 1) {
      result.lost++;
      continue;
    }
    if (e.outcome === 'ok') {
      result.ok++;
      if (e.kind !== 'plain') result.beatTheEnd[e.kind]++;
      if (served.answered.get(id) !== 1) result.okWithoutAnswer++;
    } else if (e.outcome === 'wrong') result.wrongReply++;
    else if (e.outcome === 'DEADLINE_EXCEEDED' && e.kind === 'deadline') result.deadlineExceeded++;
    else if (e.outcome === 'CANCELLED' && e.kind === 'cancel') result.cancelled++;
    else result.otherErrors[e.outcome!] = (result.otherErrors[e.outcome!] ?? 0) + 1;
    if (e.kind === 'plain' && e.outcome !== 'ok') result.plainFailed++;
  }
  for (const n of served.ran.values()) if (n > 1) result.ranTwice++;
  for (const n of served.answered.values()) if (n > 1) result.answeredTwice++;
  // Memory last, once the bookkeeping of every call (the maps above) is dropped too.
  outcomes.clear();
  served.ran.clear();
  served.answered.clear();
  const after = await settleMemory(gc);
  result.rss.after = mib(after.rss);
  result.heap.after = mib(after.heap);
  await server.close();
  return result;
}
