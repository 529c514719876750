/**
 * PortSocket (the MessagePort socket without Node streams) against PortDuplex and itself, over Node's
 * MessageChannel: the port protocol is the same on both, so a browser end can face a Node end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { PortDuplex, PortSocket } from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { until } from './helpers.js';

const KiB = 1024;

/** Everything `s` emits until 'close' (bounded). */
function record(s: PortSocket, timeoutMs = 5000) {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let error: Error | undefined;
  const closed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no close')), timeoutMs);
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  s.on('data', (c: Uint8Array) => void chunks.push(c));
  s.on('end', () => {
    ended = true;
  });
  s.on('error', (e: Error) => {
    error = e;
  });
  return {
    closed,
    get data() {
      return Buffer.concat(chunks);
    },
    get ended() {
      return ended;
    },
    get error() {
      return error;
    },
  };
}

describe('PortSocket', () => {
  it('faces a PortDuplex: bytes both ways, end on both, then both close without an error', async () => {
    const { port1, port2 } = new MessageChannel();
    const socket = new PortSocket(port1, 16 * KiB);
    const duplex = new PortDuplex(port2, 16 * KiB);
    const got = record(socket);
    socket.resume();
    const payload = randomBytes(200 * KiB);
    const fromSocket: Buffer[] = [];
    duplex.on('data', (c: Buffer) => fromSocket.push(c));
    const duplexClosed = new Promise((r) => duplex.on('close', r));
    duplex.end(payload);
    socket.write(Buffer.from('hello '));
    socket.write(Buffer.from('duplex'));
    socket.end();
    await got.closed;
    await duplexClosed;
    assert.ok(got.data.equals(payload));
    assert.ok(got.ended);
    assert.equal(got.error, undefined);
    assert.equal(Buffer.concat(fromSocket).toString(), 'hello duplex');
  });

  it('paused, it holds at most the window; the writer waits (write() false, then drain)', async () => {
    const { port1, port2 } = new MessageChannel();
    const reader = new PortSocket(port1, 16 * KiB);
    const writer = new PortSocket(port2, 16 * KiB);
    const got = record(reader);
    let full = false;
    for (let i = 0; i < 32 && !full; i++) full = !writer.write(new Uint8Array(8 * KiB));
    assert.ok(full, 'write() returned false');
    const drained = new Promise((r) => writer.on('drain', r));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.data.length, 0, 'nothing delivered while paused');
    assert.ok(writer.writableLength > 0, 'the writer holds what the window does not allow');
    reader.resume();
    await drained;
    await until(() => writer.writableLength === 0, 2000, 'all posted');
    writer.destroy();
    await got.closed;
    assert.ok(isTransportError(got.error, 'CONNECTION_LOST'), String(got.error));
  });

  it('never emits drain inside the write or uncork that made it full (the multiplexer corks)', async () => {
    const { port1, port2 } = new MessageChannel();
    const reader = new PortSocket(port1, 1024 * KiB);
    const writer = new PortSocket(port2, 1024 * KiB);
    const got = record(reader);
    reader.resume();
    await new Promise((r) => setTimeout(r, 20)); // the reader's credit has arrived
    let drains = 0;
    writer.on('drain', () => void drains++);
    writer.cork();
    const ok = writer.write(new Uint8Array(70 * KiB));
    writer.uncork();
    assert.equal(ok, false, 'write() said full');
    assert.equal(drains, 0, 'no drain before the writer could see write() return false');
    await until(() => drains === 1, 2000, 'drain once it posted');
    await until(() => got.data.length === 70 * KiB, 2000, 'all delivered');
    writer.destroy();
    await got.closed;
  });

  it('destroyed by the peer before its end: CONNECTION_LOST, then close; writes fail', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = new PortSocket(port1, 16 * KiB);
    const b = new PortSocket(port2, 16 * KiB);
    const got = record(a);
    a.resume();
    b.destroy();
    await got.closed;
    assert.ok(isTransportError(got.error, 'CONNECTION_LOST'));
    const failed = await new Promise<Error | null | undefined>((r) => a.write(new Uint8Array(1), r));
    assert.ok(failed instanceof Error);
  });
});
