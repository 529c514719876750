/**
 * A Node Duplex over a multiplexer {@link Stream}, for code that wants Node streams (pipeline, pipe).
 *
 * Backpressure both ways:
 * - writing: a write the stream answers with `false` completes (calls back) only on the stream's
 *   onDrain, so Node's Writable buffering stops the producer at its highWaterMark;
 * - reading: when push() returns false the stream is paused, so no window credit goes back and the peer
 *   stops at the window; _read() resumes it.
 *
 * end() sends FIN after the queued data; the readable side ends at the peer's FIN; destroy() resets the
 * stream unless it already closed or both sides ended cleanly (then queued data and FIN still go out). A reset or session failure destroys the Duplex with the TransportError.
 * Chunks written are not copied: do not reuse a Buffer after writing it.
 */
import { Duplex } from 'node:stream';
import type { TransportError } from '../errors.js';
import type { Stream } from './stream.js';

/** Wraps `stream` (which must not have a listener yet). */
export function toDuplex(stream: Stream): Duplex {
  let pendingWrite: ((err?: Error | null) => void) | undefined;
  let closed = false;
  const duplex = new Duplex({
    allowHalfOpen: true,
    write(chunk: Buffer, _enc, callback) {
      let ok: boolean;
      try {
        ok = stream.write(chunk);
      } catch (err) {
        callback(err as Error);
        return;
      }
      if (ok) callback();
      else pendingWrite = callback;
    },
    final(callback) {
      try {
        stream.end();
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    read() {
      stream.resume();
    },
    destroy(err, callback) {
      // Destroyed after a clean end both ways (autoDestroy, pipeline): the stream finishes by itself once
      // its queued data and FIN are out. Destroyed early or with an error: abort the stream.
      const clean = err === null && duplex.writableFinished && duplex.readableEnded;
      if (!closed && !clean) stream.reset();
      const w = pendingWrite;
      pendingWrite = undefined;
      w?.(err ?? new Error('destroyed'));
      callback(err);
    },
  });
  stream.listen({
    onData(chunk) {
      if (!duplex.push(chunk)) stream.pause();
    },
    onEnd() {
      duplex.push(null);
    },
    onDrain() {
      const w = pendingWrite;
      pendingWrite = undefined;
      w?.();
    },
    onClose(err?: TransportError) {
      closed = true;
      if (err !== undefined) {
        duplex.destroy(err);
        return;
      }
      const w = pendingWrite;
      pendingWrite = undefined;
      w?.();
    },
  });
  return duplex;
}
