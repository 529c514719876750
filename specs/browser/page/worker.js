// Runs in Chromium, loaded by specs/browser/worker.spec.ts: the page starts a module Worker
// (worker-host.js) and talks to the ActorSystem in it over MessageChannels, through the bundle only.
// Each window.* function resolves to what the spec checks; every wait is bounded.

import { chunked, described, firstItems, generate, sha256, until, withTimeout } from '/common.js';
import { ActorSystem, BrowserIdentity, callContext } from '/rxchan.js';

const log = [];
let worker;
let workerKey;
let pageIdentity;
let nextId = 0;
const answers = new Map();

/** Asks the worker to run `op`; `transfer` moves ports to it. */
function ask(op, args = {}, transfer = []) {
  const id = ++nextId;
  const answer = new Promise((resolve, reject) => answers.set(id, { resolve, reject }));
  worker.postMessage({ id, op, ...args }, transfer);
  return withTimeout(answer, 10_000, `worker ${op}`);
}

window.startWorker = async () => {
  pageIdentity = await BrowserIdentity.generate();
  worker = new Worker('/worker-host.js', { type: 'module' });
  worker.addEventListener('error', (event) => log.push(`worker error: ${event.message}`));
  worker.addEventListener('message', (event) => {
    const { id, ok, error, log: line } = event.data;
    if (line !== undefined) {
      log.push(line);
      return;
    }
    const waiter = answers.get(id);
    answers.delete(id);
    if (error) waiter?.reject(Object.assign(new Error(error.message), { code: error.code }));
    else waiter?.resolve(ok);
  });
  const { key } = await ask('start', { pageKey: pageIdentity.id });
  workerKey = key;
  return { workerKey, pageKey: pageIdentity.id, log };
};

/** The page calls the worker's `calc` over a keyed MessagePort connection. */
window.callWorker = async () => {
  const channel = new MessageChannel();
  const served = ask('serve', { port: channel.port2 }, [channel.port2]);
  const client = new ActorSystem({
    identity: pageIdentity,
    onError: (err) => log.push(`page onError: ${err}`),
  });
  const calc = client.ref('calc', { messagePort: channel.port1, key: workerKey });
  const out = { log };
  try {
    out.whoAmI = await withTimeout(calc.whoAmI(), 10_000, 'whoAmI');
    out.served = await served;
    try {
      await withTimeout(calc.divide(1, 0), 5000, 'divide');
      out.divide = 'no error';
    } catch (err) {
      out.divide = described(err);
    }
    out.ticks = await withTimeout(firstItems(calc.ticks(), 3), 5000, 'ticks');
    out.tornDown = await until(() => log.includes('ticks torn down'), 5000);
    out.callback = await withTimeout(
      calc.greetVia(async (name) => `hello ${name}`, 'page'),
      5000,
      'greetVia',
    );
    const data = generate(3 * 1024 * 1024 + 17, 7);
    const hashed = await withTimeout(calc.hash(chunked(data, 100_000)), 20_000, 'hash');
    out.bytes = { ...hashed, expected: await sha256(data), expectedLength: data.length };
    out.stats = client.stats();
  } finally {
    await withTimeout(client.close(), 5000, 'page close').catch((err) => {
      out.closeError = String(err);
    });
  }
  return out;
};

/** A page identity the worker does not list: refused on both sides. */
window.callAsStranger = async () => {
  const stranger = await BrowserIdentity.generate();
  const channel = new MessageChannel();
  const served = ask('serve', { port: channel.port2 }, [channel.port2]);
  const client = new ActorSystem({ identity: stranger });
  const calc = client.ref('calc', { messagePort: channel.port1, key: workerKey });
  const out = {};
  try {
    out.ok = await withTimeout(calc.whoAmI(), 10_000, 'whoAmI as a stranger');
  } catch (err) {
    out.error = described(err);
  }
  out.served = await served;
  await withTimeout(client.close(), 5000, 'stranger close');
  return out;
};

/** Both sides insecure: no keys, no caller. */
window.callInsecure = async () => {
  const channel = new MessageChannel();
  const served = ask('serve', { port: channel.port2, insecure: true }, [channel.port2]);
  const client = new ActorSystem({});
  const calc = client.ref('calc', { messagePort: channel.port1, insecure: true });
  const out = {};
  try {
    out.whoAmI = await withTimeout(calc.whoAmI(), 10_000, 'insecure whoAmI');
    out.served = await served;
  } finally {
    await withTimeout(client.close(), 5000, 'insecure close');
  }
  return out;
};

/** The reverse: the page serves `notes`, the worker calls it. */
window.workerCallsPage = async () => {
  class Notes {
    note(text) {
      return `page noted "${text}" from ${callContext().caller?.name ?? 'nobody'}`;
    }
  }
  const channel = new MessageChannel();
  const server = new ActorSystem({
    identity: pageIdentity,
    authorizedKeys: [{ key: workerKey, name: 'the worker' }],
  });
  await server.register('notes', Notes);
  const serving = server.servePort(channel.port1);
  const out = {};
  try {
    out.answer = await ask('callPage', { port: channel.port2, pageKey: pageIdentity.id }, [channel.port2]);
    await withTimeout(serving, 5000, 'page servePort');
  } catch (err) {
    out.error = described(err);
  } finally {
    await withTimeout(server.close(), 5000, 'page server close');
  }
  return out;
};

window.stopWorker = async () => {
  await ask('stop');
  worker.terminate();
  return log;
};

window.pageReady = true;
