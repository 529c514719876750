import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import {
  acceptPortInsecure,
  dialPortInsecure,
  PortDuplex,
  type PortLike,
} from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { Session } from '../../../src/transport/mux/index.js';
import { collect, echo, writeAll } from '../mux/harness.js';
import { drain, readBytes, until } from './helpers.js';

const KiB = 1024;

function pair(windowBytes = 64 * KiB): [PortDuplex, PortDuplex] {
  const { port1, port2 } = new MessageChannel();
  return [watched(new PortDuplex(port1, windowBytes)), watched(new PortDuplex(port2, windowBytes))];
}

const errors = new WeakMap<Duplex, Error>();

/** `socket`, with its error kept for {@link closedWith} (so an early error is not unhandled). */
function watched<T extends Duplex>(socket: T): T {
  socket.on('error', (e) => errors.set(socket, e));
  return socket;
}

/** The error a watched duplex was destroyed with, or undefined when it closed without one (bounded). */
async function closedWith(socket: Duplex, timeoutMs = 2000): Promise<Error | undefined> {
  if (!socket.closed) {
    const timer = setTimeout(() => socket.destroy(new Error('not closed in time')), timeoutMs);
    // Not events.once: it rejects on 'error', which is what the spec wants to see.
    await new Promise((resolve) => socket.once('close', resolve));
    clearTimeout(timer);
  }
  return errors.get(socket);
}

/** Reads `n` bytes in flowing mode (a paused read(n) beyond the window would wait forever). */
function take(socket: Duplex, n: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => reject(new Error(`${got} of ${n} bytes in ${timeoutMs} ms`)), timeoutMs);
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got < n) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      resolve(Buffer.concat(chunks));
    };
    socket.on('data', onData);
  });
}

describe('MessagePort duplex', () => {
  it('carries bytes in order both ways, a large write split by the window', async () => {
    const [a, b] = pair(16 * KiB);
    const big = randomBytes(300 * KiB);
    a.write(big.subarray(0, 1000));
    a.write(big.subarray(1000));
    assert.ok(sha(await take(b, big.length)).equals(sha(big)));
    b.write('pong');
    assert.equal(String(await take(a, 4)), 'pong');
    a.destroy();
    await closedWith(b);
  });

  it('sends a view of a pooled buffer without its neighbours and without detaching it', async () => {
    const [a, b] = pair();
    const pool = Buffer.from('xxxxsecretyyyy');
    const view = pool.subarray(4, 10);
    const got = new Promise<Buffer>((resolve) => b.once('data', resolve));
    a.write(view);
    const chunk = await got;
    assert.equal(String(chunk), 'secret');
    assert.equal(chunk.buffer.byteLength, 6, 'only the written bytes crossed');
    assert.equal(pool.length, 14, 'the writer keeps its buffer');
    assert.equal(String(pool), 'xxxxsecretyyyy');
    a.destroy();
  });

  it('half-close: end is EOF on the other side, which can still write; both ended closes cleanly', async () => {
    const [a, b] = pair();
    const got = drain(b, 2000);
    a.end('last words');
    const back = drain(a, 2000);
    b.end('reply');
    const [fromA, fromB] = await Promise.all([got, back]);
    assert.equal(String(fromA.data), 'last words');
    assert.equal(String(fromB.data), 'reply');
    assert.ok(fromA.closed && fromB.closed);
    assert.equal(fromA.error, undefined);
    assert.equal(fromB.error, undefined);
  });

  it('a peer destroyed before its end closes this side with CONNECTION_LOST', async () => {
    const [a, b] = pair();
    a.write('partial');
    await readBytes(b, 7);
    a.destroy();
    const error = await closedWith(b);
    assert.ok(isTransportError(error, 'CONNECTION_LOST'), String(error));
  });

  it("the port's own close (the other thread's end) closes this side with CONNECTION_LOST", async () => {
    const { port1, port2 } = new MessageChannel();
    const a = watched(new PortDuplex(port1, 64 * KiB));
    port2.close();
    const error = await closedWith(a);
    assert.ok(isTransportError(error, 'CONNECTION_LOST'), String(error));
  });

  it('portWindowBytes: a reader that stops reading holds at most the window; the writer waits, then goes on', async () => {
    const windowBytes = 32 * KiB;
    const [a, b] = pair(windowBytes);
    b.pause();
    const total = 512 * KiB;
    const chunk = Buffer.alloc(8 * KiB, 7);
    let written = 0;
    let done = 0;
    for (let i = 0; i < total / chunk.length; i++) {
      a.write(chunk, () => {
        done += chunk.length;
      });
      written += chunk.length;
    }
    await until(() => a.blockedBytes > 0, 2000, 'the writer to run out of credit');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(b.readableLength <= windowBytes, `${b.readableLength} bytes wait, window ${windowBytes}`);
    assert.ok(done < written, 'write callbacks wait for credit');
    let read = 0;
    b.on('data', (c: Buffer) => {
      read += c.length;
    });
    b.resume();
    await until(() => read === total, 5000, 'all bytes to arrive');
    await until(() => done === written, 2000, 'every write callback');
    a.destroy();
  });

  it('a peer that ignores the window is cut with WINDOW_EXCEEDED', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = watched(new PortDuplex(port1, 8 * KiB));
    const raw = port2 as MessagePort;
    raw.postMessage(new ArrayBuffer(8 * KiB)); // the whole window: allowed
    raw.postMessage(new ArrayBuffer(1)); // one byte beyond
    a.pause();
    const error = await closedWith(a);
    assert.ok(isTransportError(error, 'WINDOW_EXCEEDED'), String(error));
    raw.close();
  });

  it('a message that is not rxchan data is a PROTOCOL_ERROR', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = watched(new PortDuplex(port1, 8 * KiB));
    port2.postMessage('hello');
    const error = await closedWith(a);
    assert.ok(isTransportError(error, 'PROTOCOL_ERROR'), String(error));
    port2.close();
  });

  it('a bad credit is a PROTOCOL_ERROR', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = watched(new PortDuplex(port1, 8 * KiB));
    port2.postMessage({ t: 'credit', n: -5 });
    const error = await closedWith(a);
    assert.ok(isTransportError(error, 'PROTOCOL_ERROR'), String(error));
    port2.close();
  });
});

describe('MessagePort connections', () => {
  it('run the prelude, then carry a multiplexer session', async () => {
    const { port1, port2 } = new MessageChannel();
    const [client, server] = await Promise.all([dialPortInsecure(port1), acceptPortInsecure(port2)]);
    watched(client.socket);
    watched(server.socket);
    assert.equal(client.role, 'client');
    assert.equal(server.role, 'server');
    assert.equal(client.version, 2);
    assert.equal(client.peer, undefined);
    const a = new Session(client.socket, 'client');
    const b = new Session(server.socket, 'server');
    echo(b);
    const stream = a.open();
    const payload = randomBytes(1024 * KiB);
    const echoed = collect(stream, 5000);
    await writeAll(stream, payload, 16 * KiB);
    const { data, err } = await echoed;
    assert.equal(err, undefined);
    assert.ok(sha(data).equals(sha(payload)));
    a.destroy();
    b.destroy();
  });

  it('a dial that nobody answers fails HANDSHAKE_TIMEOUT and closes its port', async () => {
    const { port1, port2 } = new MessageChannel();
    const closed = once(port2, 'close');
    port2.on('message', () => {}); // a port that does not receive is not told of the other side's close
    await assert.rejects(dialPortInsecure(port1, { handshakeTimeoutMs: 100 }), (e: unknown) =>
      isTransportError(e, 'HANDSHAKE_TIMEOUT'),
    );
    await closed;
  });

  it('a port that is closed during the handshake fails CONNECTION_LOST', async () => {
    const { port1, port2 } = new MessageChannel();
    const dial = dialPortInsecure(port1);
    port2.close();
    await assert.rejects(dial, (e: unknown) => isTransportError(e, 'CONNECTION_LOST'));
  });

  it('an invalid window is INVALID_CONFIG', async () => {
    const { port1 } = new MessageChannel();
    await assert.rejects(dialPortInsecure(port1, { portWindowBytes: 10 }), (e: unknown) =>
      isTransportError(e, 'INVALID_CONFIG'),
    );
  });

  it('takes any object with the DOM MessagePort shape', async () => {
    const { port1, port2 } = new MessageChannel();
    const shaped: PortLike = {
      postMessage: (m, t) => port1.postMessage(m, t),
      addEventListener: (type, l) => port1.addEventListener(type, l as never),
      removeEventListener: (type, l) => port1.removeEventListener(type, l as never),
      start: () => port1.start(),
      close: () => port1.close(),
    };
    const [client, server] = await Promise.all([dialPortInsecure(shaped), acceptPortInsecure(port2)]);
    client.socket.write('via a shaped port');
    assert.equal(String(await readBytes(server.socket, 17)), 'via a shaped port');
    client.socket.destroy();
    watched(server.socket);
    await closedWith(server.socket);
  });
});

function sha(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
