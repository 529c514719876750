// What the browser specs' page scripts (and the worker they start) share: bounded waits, deterministic
// bytes and their sha256 (WebCrypto), reading a Web stream whole, and an error as the specs compare it.
// Served as /common.js beside each page (specs/browser/support.ts, pageFiles).
import { isRpcError } from '/rxchan.js';

/** `promise`, or a rejection naming `what` after `ms`. */
export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 10 ms until it holds or `ms` pass; its last answer. */
export async function until(check, ms) {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10));
  return check();
}

/** `n` deterministic pseudo-random bytes (xorshift32 from `seed`). */
export function generate(n, seed) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The sha256 of `bytes`, hex. */
export async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Every byte of a ReadableStream, in one array; throws on a chunk that is not a Uint8Array. */
export async function readAll(stream) {
  const chunks = [];
  let n = 0;
  for (const reader = stream.getReader(); ; ) {
    const { value, done } = await reader.read();
    if (done) break;
    if (!(value instanceof Uint8Array)) throw new Error(`a chunk that is not a Uint8Array: ${value}`);
    chunks.push(value);
    n += value.length;
  }
  const all = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return all;
}

/** The first `n` items of `observable`, then unsubscribes (the server sees its teardown). */
export function firstItems(observable, n) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const sub = observable.subscribe({
      next: (v) => {
        seen.push(v);
        if (seen.length === n) {
          sub.unsubscribe();
          resolve(seen);
        }
      },
      error: reject,
    });
  });
}

/** An error as the specs compare it. */
export function described(err) {
  return {
    isRpcError: isRpcError(err),
    code: err?.code,
    remoteCode: err?.cause?.remoteCode ?? err?.remoteCode,
    causeCode: err?.cause?.code,
    message: String(err?.message ?? err),
  };
}

/** A ReadableStream of `data` in `size`-byte chunks. */
export function chunked(data, size) {
  let off = 0;
  return new ReadableStream({
    pull(controller) {
      if (off >= data.length) {
        controller.close();
        return;
      }
      const end = Math.min(data.length, off + size);
      controller.enqueue(data.slice(off, end));
      off = end;
    },
  });
}
