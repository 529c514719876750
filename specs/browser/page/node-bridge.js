// Runs in Chromium, loaded by specs/browser/node-bridge.spec.ts: an ActorSystem on the page whose
// connection is carried to a Node ActorSystem by the spec (window.fromNode / the toNode binding, base64),
// so Node's byte streams (Readable/Writable) meet the page's Web streams on the real wire.

import { generate, sha256, withTimeout } from '/common.js';
import { ActorSystem, socketConnection, socketPair } from '/rxchan.js';

const log = [];

function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(s);
}

function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const [pageEnd, bridgeEnd] = socketPair();
bridgeEnd.on('data', (chunk) => window.toNode(toBase64(chunk)));
bridgeEnd.resume();
window.fromNode = (list) => {
  for (const text of list) bridgeEnd.write(fromBase64(text));
};

const client = new ActorSystem({ dial: async () => socketConnection(pageEnd, 'client') });
const files = client.ref('files', { host: 'node', port: 0 });

window.upload = async (bytes) => {
  const data = generate(bytes, 21);
  let off = 0;
  const stream = new ReadableStream(
    {
      pull(controller) {
        if (off >= data.length) {
          controller.close();
          return;
        }
        controller.enqueue(data.slice(off, off + 64 * 1024));
        off += 64 * 1024;
      },
    },
    { highWaterMark: 0 },
  );
  const digest = await withTimeout(files.hash(stream), 20_000, 'hash');
  const blobDigest = await withTimeout(
    files.hash(new Blob([data.subarray(0, 100_000)])),
    20_000,
    'hash blob',
  );
  return {
    digest,
    expected: await sha256(data),
    blobDigest,
    blobExpected: await sha256(data.subarray(0, 100_000)),
  };
};

window.download = async (bytes) => {
  const body = await withTimeout(files.download(bytes, 22), 5000, 'download');
  const isStream = body instanceof ReadableStream;
  const data = new Uint8Array(await withTimeout(new Response(body).arrayBuffer(), 20_000, 'read'));
  return {
    isStream,
    length: data.length,
    digest: await sha256(data),
    expected: await sha256(generate(bytes, 22)),
  };
};

window.cancelDownload = async () => {
  const body = await withTimeout(files.endless(), 5000, 'endless');
  const reader = body.getReader();
  let read = 0;
  for (let i = 0; i < 3; i++) read += (await withTimeout(reader.read(), 5000, 'read')).value.length;
  await reader.cancel();
  return { read };
};

window.sink = async (bytes) => {
  const chunks = [];
  let closed = false;
  const sink = new WritableStream({
    write(chunk) {
      chunks.push(chunk);
    },
    close() {
      closed = true;
    },
  });
  const written = await withTimeout(files.fill(sink, bytes, 23), 20_000, 'fill');
  const end = Date.now() + 5000;
  while (!closed && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10));
  return {
    written,
    closed,
    digest: await sha256(await new Blob(chunks).arrayBuffer()),
    expected: await sha256(generate(bytes, 23)),
  };
};

window.closeClient = () => withTimeout(client.close(), 5000, 'close').then(() => log);

window.pageReady = true;
