/**
 * Byte streams attached to messages: Node Readable/Writable over a channel stream (a {@link StreamPort}),
 * flow-controlled end to end. Writes wait for the stream's drain; reads pause the stream (no window credit
 * goes back) while the consumer's buffer is full.
 *
 * Four cases, by who opened the stream:
 * - we put a Readable in a message (BYTES_SEND): {@link pumpReadable} copies its bytes to the stream;
 * - we put a Writable in a message (BYTES_RECV): {@link pumpIntoWritable} writes what arrives into it;
 * - the peer put a Readable in a message: we get {@link remoteReadable};
 * - the peer put a Writable in a message: we get {@link remoteWritable}.
 *
 * A reset (either way) or the session's end destroys the Node stream we made with the TransportError; the
 * Node streams we make carry a no-op 'error' listener, so a peer's reset never crashes a process that did
 * not listen for errors (pipeline(), async iteration and 'error' listeners still see it). Chunks are not
 * copied: a chunk written must not be modified afterwards.
 */
import { Readable, Writable } from 'node:stream';
import type { TransportError } from '../errors.js';
import type { StreamPort } from './port.js';

const ignore = () => {};
const settled = Promise.resolve();

/** Node streams bound to a channel stream, so the same one is never sent twice. */
const bound = new WeakSet<object>();

/** True when `stream` was already put in a message (or made by us for a received one). */
export function isBoundStream(stream: object): boolean {
  return bound.has(stream);
}

/** Send `readable`'s bytes on `port` (opened BYTES_SEND). The peer's cancel destroys `readable` (no error). */
export function pumpReadable(readable: Readable, port: StreamPort): void {
  bound.add(readable);
  let finished = false;
  const cleanup = () => {
    readable.off('data', onData);
    readable.off('end', onEnd);
    readable.off('close', onClose);
    readable.off('error', onError);
    readable.on('error', ignore);
  };
  const onData = (chunk: unknown) => {
    const bytes = toBytes(chunk);
    if (bytes === undefined) {
      port.reset(); // object-mode values are not bytes
      return;
    }
    try {
      if (!port.write(bytes)) readable.pause();
    } catch {
      // Closed under us: onClose below cleans up.
    }
  };
  const onEnd = () => {
    finished = true;
    port.end();
  };
  const onError = () => port.reset();
  const onClose = () => {
    if (!finished) port.reset(); // destroyed before its end
  };
  port.attach(
    {
      onData: () => port.reset(), // the receiving side never writes
      onEnd: ignore,
      onDrain: () => readable.resume(),
      onClose: (err) => {
        cleanup();
        if (err !== undefined && !finished) readable.destroy();
      },
    },
    true,
  );
  if (readable.readableEnded) {
    onEnd();
    return;
  }
  readable.on('data', onData);
  readable.once('end', onEnd);
  readable.once('close', onClose);
  readable.on('error', onError);
  readable.resume();
}

/** Write what arrives on `port` (opened BYTES_RECV) into `writable`, then end it. A reset destroys it. */
export function pumpIntoWritable(writable: Writable, port: StreamPort): void {
  bound.add(writable);
  let ended = false;
  const onError = () => port.reset();
  const onClose = () => {
    if (!ended) port.reset(); // destroyed by its owner: cancel the transfer
  };
  writable.on('error', onError);
  writable.once('close', onClose);
  const onDrain = () => port.resume();
  port.attach(
    {
      onData: (chunk) => {
        if (writable.destroyed) return;
        if (!writable.write(chunk)) {
          port.pause();
          writable.once('drain', onDrain);
        }
      },
      onEnd: () => {
        ended = true;
        writable.end();
      },
      onClose: (err) => {
        writable.off('error', onError);
        writable.off('close', onClose);
        writable.off('drain', onDrain);
        if (err !== undefined && !ended) {
          writable.on('error', ignore);
          writable.destroy(err);
        }
      },
    },
    true,
  );
}

/** The Readable the user gets for a peer's BYTES_SEND stream, and the function that binds it. */
export function remoteReadable(port: StreamPort): { readable: Readable; bind: () => void } {
  let remoteEnded = false;
  const resume = () => {
    try {
      port.resume();
    } catch (err) {
      readable.destroy(err as Error); // a bug below: no rejection may escape this job
    }
  };
  const readable = new Readable({
    // The multiplexer's stream window is the read-ahead; this Readable only hands chunks over, one at a
    // time: each chunk pushed is pushed alone into an empty buffer and leaves whole. read() returns all
    // it buffers as ONE Buffer, copying when it holds several chunks: with the default 16 KiB, a quarter
    // of the chunks of a fast stream were copied (Readable's fromList).
    highWaterMark: 1,
    read() {
      // Not synchronously: a chunk pushed from inside read() is joined (copied) to the chunk that read()
      // is returning. Deferred, it is pushed once that one has left. On a promise job: it runs before the
      // jobs of an async iterator's yield, so its next read() finds the chunk there instead of waiting
      // for 'readable' (nextTick runs after them; queueMicrotask also makes an AsyncResource per call;
      // bench/RESULTS.md has the comparison).
      void settled.then(resume);
    },
    destroy(err, callback) {
      if (!remoteEnded) port.reset();
      callback(err);
    },
  });
  readable.on('error', ignore);
  bound.add(readable);
  const bind = () =>
    port.attach(
      {
        onData: (chunk) => {
          if (!readable.push(chunk)) port.pause();
        },
        onEnd: () => {
          remoteEnded = true;
          readable.push(null);
        },
        onClose: (err?: TransportError) => {
          if (err !== undefined && !remoteEnded) readable.destroy(err);
        },
      },
      false,
    );
  return { readable, bind };
}

/** The Writable the user gets for a peer's BYTES_RECV stream, and the function that binds it. */
export function remoteWritable(port: StreamPort): { writable: Writable; bind: () => void } {
  let finalCalled = false;
  const writable = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      let ok: boolean;
      try {
        ok = port.write(chunk);
      } catch (err) {
        callback(err as Error);
        return;
      }
      if (ok) callback();
      else port.drained().then(() => callback(), callback);
    },
    final(callback) {
      finalCalled = true;
      try {
        port.end();
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    destroy(err, callback) {
      if (!finalCalled) port.reset();
      callback(err);
    },
  });
  writable.on('error', ignore);
  bound.add(writable);
  const bind = () =>
    port.attach(
      {
        onData: () => port.reset(), // the receiving side never writes
        onEnd: ignore,
        onClose: (err?: TransportError) => {
          if (err !== undefined && !writable.destroyed) writable.destroy(err);
        },
      },
      true,
    );
  return { writable, bind };
}

function toBytes(chunk: unknown): Uint8Array | undefined {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return undefined;
}
