// Runs in Chromium, loaded by specs/browser/bytes.spec.ts: byte streams as Web streams between two
// ActorSystems on one page over an in-memory socket pair, through the bundle only. Each window.* function
// resolves to what the spec checks; sha256 comes from WebCrypto.
import { ActorSystem, socketConnectionPair } from '/rxchan.js';

const MiB = 1024 * 1024;
const log = [];

/** `n` deterministic pseudo-random bytes (xorshift32 from `seed`). */
function generate(n, seed) {
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

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function readAll(stream) {
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

/** A pulling ReadableStream of `data` in `size`-byte chunks; `pulled()` is how far it was read. */
function counted(data, size) {
  let off = 0;
  const stream = new ReadableStream(
    {
      pull(controller) {
        if (off >= data.length) {
          controller.close();
          return;
        }
        const end = Math.min(data.length, off + size);
        controller.enqueue(data.slice(off, end));
        off = end;
      },
      cancel(reason) {
        log.push(`source cancelled: ${reason?.code ?? reason}`);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => off };
}

let lastDownload;

class Files {
  async hash(body) {
    return { digest: await sha256(await readAll(body)), isStream: body instanceof ReadableStream };
  }
  download(bytes, seed) {
    lastDownload = counted(generate(bytes, seed), 64 * 1024);
    return lastDownload.stream;
  }
  downloadBlob(bytes, seed) {
    return new Blob([generate(bytes, seed)]);
  }
  endless() {
    let i = 0;
    return new ReadableStream({
      pull(controller) {
        controller.enqueue(new Uint8Array(16 * 1024).fill(i++ & 0xff));
      },
      cancel(reason) {
        log.push(`endless cancelled: ${reason?.code ?? reason}`);
      },
    });
  }
  async fill(sink, bytes, seed) {
    const writer = sink.getWriter();
    const data = generate(bytes, seed);
    for (let off = 0; off < data.length; off += 50_000) await writer.write(data.slice(off, off + 50_000));
    await writer.close();
    return bytes;
  }
}

async function withTimeout(promise, ms, what) {
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

async function until(check, ms) {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10));
  return check();
}

/** Two systems on this page, `files` served by one and reached from the other; closes both after `body`. */
async function withFiles(body) {
  const [clientConnection, serverConnection] = socketConnectionPair();
  const server = new ActorSystem({ onError: (err) => log.push(`server onError: ${err}`) });
  await server.register('files', Files);
  server.serve(serverConnection);
  const client = new ActorSystem({ dial: async () => clientConnection });
  const files = client.ref('files', { host: 'in-page', port: 0 });
  const out = { log };
  try {
    Object.assign(out, await body(files));
  } finally {
    await withTimeout(Promise.all([client.close(), server.close()]), 5000, 'close').catch((err) => {
      out.closeError = String(err);
    });
  }
  return out;
}

window.upload = (bytes) =>
  withFiles(async (files) => {
    const data = generate(bytes, 7);
    const source = counted(data, 64 * 1024);
    const got = await withTimeout(files.hash(source.stream), 20_000, 'hash');
    const sent = new Blob([data.subarray(0, MiB)]);
    const blob = await withTimeout(files.hash(sent), 20_000, 'hash blob');
    const again = await withTimeout(files.hash(sent), 20_000, 'hash blob again');
    return {
      digest: got.digest,
      isStream: got.isStream,
      expected: await sha256(data),
      blobDigest: blob.digest,
      blobAgainDigest: again.digest,
      blobExpected: await sha256(data.subarray(0, MiB)),
    };
  });

window.download = (bytes) =>
  withFiles(async (files) => {
    const body = await withTimeout(files.download(bytes, 11), 5000, 'download');
    const isStream = body instanceof ReadableStream;
    // Nobody reads for a while: the sender is held back by the stream window.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const pulledWhileIdle = lastDownload.pulled();
    const data = await withTimeout(readAll(body), 20_000, 'read download');
    const blob = await withTimeout(files.downloadBlob(bytes, 12), 5000, 'download blob');
    const blobData = new Uint8Array(await withTimeout(new Response(blob).arrayBuffer(), 20_000, 'read blob'));
    return {
      isStream,
      pulledWhileIdle,
      length: data.length,
      digest: await sha256(data),
      expected: await sha256(generate(bytes, 11)),
      blobDigest: await sha256(blobData),
      blobExpected: await sha256(generate(bytes, 12)),
    };
  });

window.cancelDownload = () =>
  withFiles(async (files) => {
    const body = await withTimeout(files.endless(), 5000, 'endless');
    const reader = body.getReader();
    let read = 0;
    for (let i = 0; i < 3; i++) read += (await withTimeout(reader.read(), 5000, 'read')).value.length;
    await reader.cancel();
    const seen = await until(() => log.some((l) => l.startsWith('endless cancelled')), 5000);
    return { read, cancelledOnSender: seen, cancelLog: log.filter((l) => l.includes('cancelled')) };
  });

window.sink = (bytes) =>
  withFiles(async (files) => {
    const chunks = [];
    let sinkClosed = false;
    const sink = new WritableStream({
      write(chunk) {
        chunks.push(chunk);
      },
      close() {
        sinkClosed = true;
      },
    });
    const written = await withTimeout(files.fill(sink, bytes, 13), 20_000, 'fill');
    const closed = await until(() => sinkClosed, 5000);
    return {
      written,
      closed,
      digest: await sha256(await new Blob(chunks).arrayBuffer()),
      expected: await sha256(generate(bytes, 13)),
    };
  });

window.pageReady = true;
