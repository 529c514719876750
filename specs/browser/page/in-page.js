// Runs in Chromium, loaded by specs/browser/in-page.spec.ts: two ActorSystems on one page over an
// in-memory socket pair, through the bundle only. window.runInPage() resolves to what the spec checks.

import { firstItems, until, withTimeout } from '/common.js';
import { ActorSystem, callContext, isRpcError, rpcError, socketConnectionPair } from '/rxchan.js';

const log = [];

class Calculator {
  add(a, b) {
    // Synchronous: the call's scope is visible here (a browser has no AsyncLocalStorage).
    return { sum: a + b, method: callContext().method };
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
      log.push('ticks torn down');
    }
  }
  async greetVia(callback, name) {
    return `server got ${await callback(name)}`;
  }
}

window.runInPage = async () => {
  const [clientConnection, serverConnection] = socketConnectionPair();
  const server = new ActorSystem({ onError: (err) => log.push(`server onError: ${err}`) });
  await server.register('calc', Calculator);
  server.serve(serverConnection);
  const client = new ActorSystem({ dial: async () => clientConnection });
  const calc = client.ref('calc', { host: 'in-page', port: 0 });
  const out = { log };
  try {
    out.add = await withTimeout(calc.add(1, 2), 5000, 'add');
    try {
      await withTimeout(calc.divide(1, 0), 5000, 'divide');
      out.divide = 'no error';
    } catch (err) {
      out.divide = { isRpcError: isRpcError(err), code: err.code, message: err.message };
    }
    out.ticks = await withTimeout(firstItems(calc.ticks(), 3), 5000, 'ticks');
    // The server's teardown runs once the reset reaches it.
    out.tornDown = await until(() => log.includes('ticks torn down'), 5000);
    out.callback = await withTimeout(
      calc.greetVia((name) => `hello ${name}`, 'page'),
      5000,
      'greetVia',
    );
    out.stats = client.stats().callsMade;
  } finally {
    await withTimeout(Promise.all([client.close(), server.close()]), 5000, 'close').catch((err) => {
      out.closeError = String(err);
    });
  }
  return out;
};
window.pageReady = true;
