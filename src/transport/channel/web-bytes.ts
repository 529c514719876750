/**
 * Byte streams attached to messages as Web streams (the browser build's byte-stream ends; Node's are in
 * bytes.ts): the same wire (docs/PROTOCOL.md 5.4), flow-controlled end to end through a {@link StreamPort}.
 *
 * Four cases, by who opened the stream:
 * - we put a `ReadableStream<Uint8Array>` (or a `Blob`, read as its stream) in a message (BYTES_SEND):
 *   {@link pumpWebReadable} copies its chunks to the stream, waiting for the drain when the window is
 *   full;
 * - we put a `WritableStream<Uint8Array>` in a message (BYTES_RECV): {@link pumpIntoWebWritable} writes
 *   what arrives into it, pausing the port while the writer is not ready;
 * - the peer put a byte stream to read in a message: we get {@link webRemoteReadable}, a ReadableStream
 *   that pulls: the port is paused (no window credit goes back) until the reader asks for more;
 * - the peer put a byte stream to write in a message: we get {@link webRemoteWritable}.
 *
 * A chunk that is not a Uint8Array resets the stream and cancels the source. A reset by the peer cancels
 * the source we read (or aborts the WritableStream we write) and errors the streams we made with the
 * TransportError; cancelling a received ReadableStream (or aborting a received WritableStream) resets the
 * stream, so the peer's source is destroyed. Chunks are not copied: a chunk enqueued must not be
 * modified afterwards.
 */
import type { TransportError } from '../errors.js';
import type { StreamPort } from './port.js';

const ignore = () => {};

/** Streams bound to a channel stream (ours or made by us), and how to tear each down. */
const bound = new WeakMap<object, (reason?: unknown) => void>();

/** True when `stream` was already put in a message (or made by us for a received one). */
export function isBoundWebStream(stream: object): boolean {
  return bound.has(stream);
}

/**
 * Tear down a Web byte stream: one bound to a channel stream resets it (unless finished); an unbound
 * ReadableStream is cancelled and an unbound WritableStream aborted (unless locked). Never throws.
 */
export function destroyWebStream(stream: object, reason?: unknown): void {
  const destroy = bound.get(stream);
  if (destroy !== undefined) destroy(reason);
  else if (stream instanceof ReadableStream && !stream.locked) stream.cancel(reason).catch(ignore);
  else if (stream instanceof WritableStream && !stream.locked) stream.abort(reason).catch(ignore);
}

/**
 * Send the chunks of `source` (a ReadableStream, or a new stream of a Blob) on `port` (opened BYTES_SEND).
 * The peer's cancel cancels the stream read.
 */
export function pumpWebReadable(source: ReadableStream<unknown> | Blob, port: StreamPort): void {
  const stream = source instanceof ReadableStream ? source : source.stream();
  const reader = stream.getReader();
  let done = false;
  const stop = (reason?: unknown) => {
    if (done) return;
    done = true;
    port.reset();
    reader.cancel(reason).catch(ignore);
  };
  // A Blob is immutable and read through a new stream each time: it may be sent again.
  bound.set(stream, stop);
  port.attach(
    {
      onData: () => port.reset(), // the receiving side never writes
      onEnd: ignore,
      onClose: (err) => {
        if (err !== undefined && !done) {
          done = true;
          reader.cancel(err).catch(ignore); // the peer cancelled, or the session ended
        }
      },
    },
    true,
  );
  const pump = async () => {
    while (!done) {
      const { value, done: ended } = await reader.read();
      if (done) return;
      if (ended) {
        done = true;
        port.end();
        return;
      }
      if (!(value instanceof Uint8Array)) {
        stop(new TypeError('a byte stream carries Uint8Array chunks only'));
        return;
      }
      if (!port.write(value)) await port.drained();
    }
  };
  pump().catch((err) => stop(err)); // the source errored, or the port closed under a write
}

/** Write what arrives on `port` (opened BYTES_RECV) into `sink`, then close it. A reset aborts it. */
export function pumpIntoWebWritable(sink: WritableStream<Uint8Array>, port: StreamPort): void {
  const writer = sink.getWriter();
  let done = false;
  const stop = (reason?: unknown) => {
    if (done) return;
    done = true;
    port.reset();
    writer.abort(reason).catch(ignore);
  };
  bound.set(sink, stop);
  const failed = (err: unknown) => stop(err); // the sink errored: cancel the transfer
  port.attach(
    {
      onData: (chunk) => {
        if (done) return;
        writer.write(chunk).catch(failed);
        if ((writer.desiredSize ?? 1) <= 0) {
          port.pause();
          writer.ready.then(() => {
            if (!done) port.resume();
          }, failed);
        }
      },
      onEnd: () => {
        done = true;
        writer.close().catch(ignore);
      },
      onClose: (err) => {
        if (err !== undefined && !done) {
          done = true;
          writer.abort(err).catch(ignore);
        }
      },
    },
    true,
  );
}

/**
 * The ReadableStream the user gets for a peer's BYTES_SEND stream, and the function that binds it. It
 * pulls: a chunk is let in when the reader asks for one, so the multiplexer's stream window is the
 * read-ahead. Cancelling it resets the stream.
 */
export function webRemoteReadable(port: StreamPort): {
  readable: ReadableStream<Uint8Array>;
  bind: () => void;
} {
  let finished = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const readable = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        port.resume();
      },
      cancel() {
        if (finished) return;
        finished = true;
        port.reset();
      },
    },
    { highWaterMark: 0 },
  );
  bound.set(readable, (reason) => {
    if (finished) return;
    finished = true;
    port.reset();
    controller.error(reason);
  });
  const bind = () =>
    port.attach(
      {
        onData: (chunk) => {
          if (finished) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) port.pause();
        },
        onEnd: () => {
          if (finished) return;
          finished = true;
          controller.close();
        },
        onClose: (err?: TransportError) => {
          if (err === undefined || finished) return;
          finished = true;
          controller.error(err);
        },
      },
      false,
    );
  return { readable, bind };
}

/** The WritableStream the user gets for a peer's BYTES_RECV stream, and the function that binds it. */
export function webRemoteWritable(port: StreamPort): {
  writable: WritableStream<Uint8Array>;
  bind: () => void;
} {
  let finished = false;
  let controller!: WritableStreamDefaultController;
  const writable = new WritableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async write(chunk) {
      if (!(chunk instanceof Uint8Array)) {
        finished = true;
        port.reset();
        throw new TypeError('a byte stream carries Uint8Array chunks only');
      }
      if (!port.write(chunk)) await port.drained();
    },
    close() {
      finished = true;
      port.end();
    },
    abort() {
      if (finished) return;
      finished = true;
      port.reset();
    },
  });
  bound.set(writable, (reason) => {
    if (finished) return;
    finished = true;
    port.reset();
    controller.error(reason);
  });
  const bind = () =>
    port.attach(
      {
        onData: () => port.reset(), // the receiving side never writes
        onEnd: ignore,
        onClose: (err?: TransportError) => {
          if (err === undefined || finished) return;
          finished = true;
          controller.error(err);
        },
      },
      true,
    );
  return { writable, bind };
}
