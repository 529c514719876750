/**
 * Reading an exact number of bytes from a stream without consuming anything beyond them: what the
 * prelude needs, so that the bytes after it stay in the stream for the multiplexer.
 */
import type { Duplex, Readable } from 'node:stream';
import { transportError } from '../errors.js';
import type { HandshakeStream } from './byte-reader.js';

/**
 * Resolves with exactly `n` bytes read from `stream` (paused mode, `read(n)`); bytes after them stay
 * buffered in the stream. Rejects with TransportError CONNECTION_LOST when the stream ends, closes or
 * errors first (the error is the cause). Leaves no listeners behind.
 */
export function readExactly(stream: Readable, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const lost = (why: string, cause?: unknown) =>
      transportError(
        'CONNECTION_LOST',
        `connection ${why} during the handshake`,
        cause === undefined ? undefined : { cause },
      );
    if (stream.destroyed || stream.readableEnded) {
      reject(lost('closed'));
      return;
    }
    const cleanup = () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      stream.off('error', onError);
    };
    const onReadable = () => {
      const chunk: Buffer | null = stream.read(n);
      if (chunk === null) {
        if (stream.readableEnded) onEnd();
        return;
      }
      cleanup();
      if (chunk.length === n) resolve(chunk);
      else reject(lost(`ended after ${chunk.length} of ${n} bytes`));
    };
    const onEnd = () => {
      cleanup();
      reject(lost('ended'));
    };
    const onClose = () => {
      cleanup();
      reject(lost('closed'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(lost('failed', err));
    };
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('close', onClose);
    stream.on('error', onError);
  });
}

/** A Node stream as a {@link HandshakeStream}: exact reads by {@link readExactly}, the rest left in it. */
export function duplexStream(socket: Duplex): HandshakeStream {
  return {
    write: (chunk) => socket.write(chunk),
    readExactly: (n) => readExactly(socket, n),
    destroy: () => socket.destroy(),
  };
}
