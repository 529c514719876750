import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { listenTls, PRELUDE_MAGIC, PreludeKind } from '../../../src/transport/connection/index.js';
import { closeAll, identityWithCert } from './helpers.js';

// A raw TLS 1.3 client on its own thread (so it runs while the listener's thread is busy): it writes
// HELLO right after the handshake (so HELLO travels with its Finished, as dialTls sends it) and sets
// flag[0] when the first 8 bytes it reads are an ACCEPT.
const CLIENT = `
const tls = require('node:tls');
const { workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.flag);
const socket = tls.connect({ host: '127.0.0.1', port: workerData.port, key: workerData.key, cert: workerData.cert,
  minVersion: 'TLSv1.3', rejectUnauthorized: false });
socket.setNoDelay(true);
socket.on('error', () => {});
socket.once('secureConnect', () => socket.write(Buffer.from(workerData.hello)));
let got = Buffer.alloc(0);
socket.on('data', (b) => {
  got = Buffer.concat([got, b]);
  if (got.length >= 8) {
    Atomics.store(flag, 0, got[4] === workerData.accept ? 1 : 2);
    Atomics.notify(flag, 0);
    socket.destroy();
  }
});
setTimeout(() => socket.destroy(), 5000).unref();
`;

describe('listener', () => {
  it('puts the ACCEPT on the wire before it hands the connection over (a slow onConnection does not hold the client)', async () => {
    const server = await identityWithCert();
    const client = await identityWithCert();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    let sawAccept: number | undefined;
    const listener = await listenTls(
      { identity: server.identity, authorizedKeys: [{ key: client.identity.id, name: 'c' }] },
      (connection) => {
        // Block this thread until the client thread has the ACCEPT (or 3 s pass).
        Atomics.wait(flag, 0, 0, 3000);
        sawAccept = Atomics.load(flag, 0);
        connection.socket.destroy();
      },
    );
    const hello = Buffer.from([...PRELUDE_MAGIC, PreludeKind.HELLO, 2, 2, 1]);
    const worker = new Worker(CLIENT, {
      eval: true,
      workerData: {
        port: listener.port,
        key: client.cert.keyPem,
        cert: client.cert.certPem,
        hello,
        accept: PreludeKind.ACCEPT,
        flag: flag.buffer,
      },
    });
    try {
      const deadline = Date.now() + 10_000;
      while (sawAccept === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(sawAccept, 1, 'the client had the ACCEPT while onConnection ran');
    } finally {
      await worker.terminate();
      await closeAll(listener);
    }
  });
});
