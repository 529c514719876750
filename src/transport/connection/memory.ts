/**
 * In-memory connections, for tests: a pair of linked Duplex streams, with the prelude already run
 * over them (its real bytes, written and read synchronously), so `peer` is undefined and everything
 * else matches a TCP connection.
 */
import { Duplex } from 'node:stream';
import { transportError } from '../errors.js';
import type { Connection } from './connection.js';
import { decodePrelude, encodeAccept, encodeHello, negotiate, PRELUDE_HEADER_LENGTH } from './prelude.js';

/** One end of an in-memory pipe: what one side writes, the other reads, with backpressure. */
class MemoryDuplex extends Duplex {
  peer: MemoryDuplex | undefined;
  /** The peer's write callback, held while our read buffer is full; called when we are read from. */
  #blockedWrite: (() => void) | undefined;

  constructor() {
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed) {
      callback(transportError('CONNECTION_LOST', 'in-memory peer is closed'));
      return;
    }
    if (peer.push(chunk)) callback();
    else peer.#blockedWrite = callback;
  }

  override _read(): void {
    const resume = this.#blockedWrite;
    this.#blockedWrite = undefined;
    resume?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const resume = this.#blockedWrite;
    this.#blockedWrite = undefined;
    resume?.(); // the peer's pending write is dropped, as by a reset connection
    const peer = this.peer;
    // Like a reset TCP connection: the other end closes too (without an error of its own).
    if (peer && !peer.destroyed) process.nextTick(() => peer.destroy());
    callback(error);
  }
}

/** Two linked in-memory Duplex streams: bytes written to one are read from the other. */
export function duplexPair(): [MemoryDuplex, MemoryDuplex] {
  const a = new MemoryDuplex();
  const b = new MemoryDuplex();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/**
 * A connected client/server pair over memory, prelude done. Synchronous: each side's prelude frame is
 * written and read at once (the pipe delivers synchronously), so the specs of the layers above can
 * start on a fresh pair without awaiting.
 */
export function memoryConnectionPair(): [client: Connection, server: Connection] {
  const [clientSocket, serverSocket] = duplexPair();
  clientSocket.write(encodeHello());
  serverSocket.write(encodeAccept());
  const hello = decodePrelude(serverSocket.read(PRELUDE_HEADER_LENGTH) as Buffer);
  const accept = decodePrelude(clientSocket.read(PRELUDE_HEADER_LENGTH) as Buffer);
  const agreed = hello.kind === 'HELLO' && accept.kind === 'ACCEPT' ? negotiate(hello, accept) : undefined;
  if (!agreed) throw transportError('INTERNAL_ERROR', 'in-memory prelude failed');
  const base = {
    peer: undefined,
    version: agreed.version,
    codec: 'msgpack' as const,
    resumed: false,
    remoteAddress: undefined,
  };
  return [
    { ...base, socket: clientSocket, role: 'client' },
    { ...base, socket: serverSocket, role: 'server' },
  ];
}
