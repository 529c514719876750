// Runs in Chromium, loaded by specs/browser/websocket.spec.ts: an ActorSystem on the page with a
// BrowserIdentity dials the spec's Node server over wss://, through the bundle only. Each window.*
// function resolves to what the spec checks; every wait is bounded.

import { described, firstItems, withTimeout } from '/common.js';
import { ActorSystem, BrowserIdentity } from '/rxchan.js';

const log = [];
let identity;
let nacl;
let system;
let calc;

async function outcome(promise, what) {
  try {
    return { ok: await withTimeout(promise, 10_000, what) };
  } catch (err) {
    return { error: described(err) };
  }
}

function sum(bytes) {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) s = (s * 31 + bytes[i]) >>> 0;
  return s;
}

window.setUp = async () => {
  identity = await BrowserIdentity.load('spec');
  const again = await BrowserIdentity.load('spec');
  nacl = await BrowserIdentity.generate({ tweetnacl: true });
  return {
    id: identity.id,
    kind: identity.kind,
    persisted: identity.persisted,
    sameKeyLoadedTwice: again.id === identity.id,
    naclId: nacl.id,
    naclKind: nacl.kind,
  };
};

/** An actor of the page, which the server calls through a ref the page passes it. */
const printed = [];
class Printer {
  print(line) {
    printed.push(line);
    return `page printed "${line}"`;
  }
}

window.connect = async (url, key) => {
  system = new ActorSystem({ identity, onError: (err) => log.push(`onError: ${err}`) });
  await system.register('printer', Printer);
  calc = system.ref('calc', { url, key });
};

window.calls = async () => {
  const out = { log };
  out.add = await outcome(calc.add(1, 2), 'add');
  out.whoAmI = await outcome(calc.whoAmI(), 'whoAmI');
  out.divide = await outcome(calc.divide(1, 0), 'divide');
  out.ticks = await outcome(firstItems(calc.ticks(), 3), 'ticks');
  // Bytes both ways, larger than a WebSocket message we send (64 KiB) and than the write high-water mark.
  const up = new Uint8Array(3 * 1024 * 1024);
  for (let i = 0; i < up.length; i++) up[i] = (i * 7 + 3) & 0xff;
  out.upload = await outcome(calc.checksum(up), 'checksum');
  out.download = await outcome(
    calc.bytes(2 * 1024 * 1024).then((b) => ({ length: b.length, sum: sum(b) })),
    'bytes',
  );
  out.callback = await outcome(
    calc.greetVia(async (name) => `hello ${name}`, 'page'),
    'greetVia',
  );
  out.refPassed = await outcome(calc.announce(system.ref('printer'), 'from the server'), 'announce');
  out.printed = printed;
  return out;
};

/** A call from another system on the page, with `signer` and the pinned `key`. */
window.callAs = async (which, url, key) => {
  const signer = which === 'nacl' ? nacl : which === 'stranger' ? await BrowserIdentity.generate() : identity;
  const other = new ActorSystem({ identity: signer, onError: (err) => log.push(`onError: ${err}`) });
  try {
    return await outcome(other.ref('calc', { url, key }).add(2, 3), `add as ${which}`);
  } finally {
    await other.close();
  }
};

/** Resolves once the page's system has no connection left (the server went away), within 5 s. */
window.disconnected = async () => {
  const until = Date.now() + 5_000;
  while (system.stats().connections > 0) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
};

window.callAgain = () => outcome(calc.add(20, 22), 'add after the restart');

window.tearDown = () => withTimeout(system.close(), 5_000, 'close');

window.pageReady = true;
