// Runs in a browser module Worker started by specs/browser/page/worker.js: an ActorSystem that hosts
// `calc` on the MessagePorts the page sends it (keyed, or insecure), and calls the page's `notes`
// actor on a port the page serves. Everything through the bundle only; messages to the page are
// `{ id, ok }` / `{ id, error }` answers and `{ log }` lines.

import { readAll, sha256 } from '/common.js';
import { ActorSystem, BrowserIdentity, callContext, rpcError } from '/rxchan.js';

let system;
let identity;

function log(line) {
  self.postMessage({ log: line });
}

class Calculator {
  whoAmI() {
    // Synchronous: the call's scope is visible here (a browser has no AsyncLocalStorage).
    const caller = callContext().caller;
    return { name: caller?.name ?? null, id: caller?.id ?? null, where: typeof WorkerGlobalScope };
  }
  divide(a, b) {
    if (b === 0) throw rpcError('INVALID_ARGUMENT', 'division by zero');
    return a / b;
  }
  async *ticks() {
    try {
      for (let i = 0; i < 1000; i++) {
        yield i;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      log('ticks torn down');
    }
  }
  async greetVia(callback, name) {
    return `worker got ${await callback(name)}`;
  }
  async hash(body) {
    const bytes = await readAll(body);
    return { digest: await sha256(bytes), length: bytes.length, isStream: body instanceof ReadableStream };
  }
}

const handlers = {
  async start({ pageKey }) {
    identity = await BrowserIdentity.generate();
    system = new ActorSystem({
      identity,
      authorizedKeys: [{ key: pageKey, name: 'the page' }],
      onError: (err) => log(`worker onError: ${err}`),
    });
    await system.register('calc', Calculator);
    return { key: identity.id };
  },
  async serve({ port, insecure }) {
    try {
      await system.servePort(port, insecure ? { insecure: true } : {});
      return { served: true };
    } catch (err) {
      return { served: false, code: err?.code, remoteCode: err?.remoteCode, message: String(err?.message) };
    }
  },
  async callPage({ port, pageKey }) {
    const notes = system.ref('notes', { messagePort: port, key: pageKey });
    return notes.note('from the worker');
  },
  async stop() {
    await system.close();
    return true;
  },
};

self.addEventListener('message', async (event) => {
  const { id, op, ...args } = event.data;
  try {
    self.postMessage({ id, ok: await handlers[op](args) });
  } catch (err) {
    self.postMessage({ id, error: { code: err?.code, message: String(err?.message ?? err) } });
  }
});
self.postMessage({ log: 'worker loaded' });
