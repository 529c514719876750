// Runs in Chromium, loaded by specs/browser/bytes.spec.ts: byte streams as Web streams between two
// ActorSystems on one page over an in-memory socket pair, through the bundle only. Each window.* function
// resolves to what the spec checks; sha256 comes from WebCrypto.

import { generate, readAll, sha256, until, withTimeout } from '/common.js';
import { ActorSystem, socketConnectionPair } from '/rxchan.js';

const MiB = 1024 * 1024;
const log = [];

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
