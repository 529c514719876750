// Runs in Chromium, bundled with esbuild by ../browser.ts together with rxchan's browser build and
// capnweb. One page holds one client of each system, each on its own WebSocket to its own Node child.
// The page drives itself, with no DevTools protocol attached (which would report every WebSocket frame
// to the driver): it asks the runner for a step over HTTP (POST /step, carrying the previous step's
// result), runs it, and asks again until the runner says 'done'. Every wait is bounded: a measurement
// that does not end within its limit fails, and the runner reports the error.
import { newWebSocketRpcSession } from 'capnweb';
import { ActorSystem, BrowserIdentity } from '../../dist/browser/rxchan.js';

/** The longest any one measurement may take, ms. */
const LIMIT_MS = 60_000;

let identity;
let rxchanSystem;
/** name → { add(a, b): Promise<number>, stream(kind, n): a measured stream }. */
const clients = {};

function bounded(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${LIMIT_MS} ms`)), LIMIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Checks that message `m` is the `expected`-th; throws naming the system otherwise. */
function check(name, m, expected) {
  if (m?.seq !== expected) throw new Error(`${name}: message ${expected} arrived as ${JSON.stringify(m)}`);
}

/** rxchan: subscribe to the Observable the call returns; count and check every `{ seq }`. */
function rxchanStream(observable, n) {
  return new Promise((resolve, reject) => {
    let next = 0;
    const sub = observable.subscribe({
      next(m) {
        try {
          check('rxchan', m, next++);
        } catch (err) {
          sub?.unsubscribe();
          reject(err);
        }
      },
      error: reject,
      complete() {
        if (next === n) resolve();
        else reject(new Error(`rxchan: ${next} messages of ${n}`));
      },
    });
  });
}

/** capnweb: read the ReadableStream the call returns to its end; count and check every `{ seq }`. */
async function capnwebStream(promise, n) {
  const stream = await promise;
  const reader = stream.getReader();
  let next = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    check('capnweb', value, next++);
  }
  if (next !== n) throw new Error(`capnweb: ${next} messages of ${n}`);
}

const setUp = async () => {
  // WebCrypto Ed25519, non-extractable, not persisted: the bench needs a key, not a stored one.
  identity = await BrowserIdentity.generate();
  return { id: identity.id, kind: identity.kind, isolated: globalThis.crossOriginIsolated === true };
};

/**
 * Calls written by hand over a WebSocket to `url`: `[id, a, b]` out, `[id, sum]` back, answers matched
 * by id. No RPC library: the floor under both systems' calls.
 */
async function rawClient(url) {
  const ws = new WebSocket(url);
  await bounded(
    new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`raw: ${url} did not open`));
    }),
    'raw open',
  );
  const pending = new Map();
  let nextId = 0;
  ws.onmessage = (event) => {
    const [id, sum] = JSON.parse(event.data);
    const resolve = pending.get(id);
    pending.delete(id);
    resolve?.(sum);
  };
  ws.onclose = () => {
    for (const resolve of pending.values()) resolve(Number.NaN);
    pending.clear();
  };
  return {
    add: (a, b) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        ws.send(JSON.stringify([id, a, b]));
      }),
  };
}

const connect = async ({ rxchanUrl, serverKey, capnwebUrl, rawUrl }) => {
  rxchanSystem = new ActorSystem({ identity });
  const bench = rxchanSystem.ref('bench', { url: rxchanUrl, key: serverKey });
  clients.rxchan = {
    add: (a, b) => bench.add(a, b),
    stream: (kind, n) => rxchanStream(kind === 'pushed' ? bench.range(n) : bench.seqs(n), n),
  };
  const api = newWebSocketRpcSession(capnwebUrl);
  clients.capnweb = {
    add: (a, b) => api.add(a, b),
    stream: (_kind, n) => capnwebStream(api.seqs(n), n),
  };
  clients.raw = await rawClient(rawUrl);
  // The first call of each opens its connection (rxchan's runs the handshake).
  for (const c of Object.values(clients)) {
    if ((await bounded(c.add(1, 2), 'first call')) !== 3) throw new Error('1 + 2 is not 3');
  }
};

/** `depth` calls always in flight for `ms`; every result checked. */
const inFlight = async (name, ms, depth) => {
  const { add } = clients[name];
  const started = performance.now();
  const deadline = started + ms;
  let calls = 0;
  const lane = async (first) => {
    for (let i = first; performance.now() < deadline; i += depth) {
      const sum = await add(i, 1);
      if (sum !== i + 1) throw new Error(`${name}: add(${i}, 1) returned ${sum}`);
      calls++;
    }
  };
  await bounded(Promise.all(Array.from({ length: depth }, (_, k) => lane(k))), `${name} in flight`);
  return { calls, rate: (calls * 1000) / (performance.now() - started) };
};

/** One call at a time for `ms`: the median round trip, µs. */
const sequential = async (name, ms) => {
  const { add } = clients[name];
  const deadline = performance.now() + ms;
  const rtts = [];
  const loop = async () => {
    for (let i = 0; performance.now() < deadline; i++) {
      const t0 = performance.now();
      const sum = await add(i, 1);
      rtts.push(performance.now() - t0);
      if (sum !== i + 1) throw new Error(`${name}: add(${i}, 1) returned ${sum}`);
    }
  };
  await bounded(loop(), `${name} sequential`);
  rtts.sort((a, b) => a - b);
  return { calls: rtts.length, p50Us: rtts[rtts.length >> 1] * 1000 };
};

/**
 * Streams of `n` messages `{ seq }`, one after another until `ms` have passed (at least one), each timed
 * from its call to its last message: messages per second over them all.
 */
const stream = async (name, kind, n, ms) => {
  const started = performance.now();
  let streams = 0;
  do {
    await bounded(clients[name].stream(kind, n), `${name} ${kind} stream`);
    streams++;
  } while (performance.now() - started < ms);
  return { streams, rate: (streams * n * 1000) / (performance.now() - started) };
};

const steps = { setUp, connect, inFlight, sequential, stream };

/** POST `result` to the runner; its answer is the next step, `{ op, args }`. */
async function nextStep(result) {
  const res = await fetch('/step', { method: 'POST', body: JSON.stringify(result ?? null) });
  if (!res.ok) throw new Error(`the runner answered ${res.status}`);
  return res.json();
}

(async () => {
  let result = { ready: true };
  for (;;) {
    const step = await nextStep(result);
    if (step.op === 'done') break;
    try {
      result = { ok: await steps[step.op](...step.args) };
    } catch (err) {
      result = { error: String(err?.stack ?? err) };
    }
  }
})();
