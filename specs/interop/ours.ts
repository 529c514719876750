/**
 * Small drivers for our multiplexer's streams in the interop specs, the mirror of the reference helpers in
 * specs/support/libp2p-yamux.ts. Every wait is bounded (withTimeout) so a stuck stream fails the spec.
 */
import { createHash } from 'node:crypto';
import type { TransportError } from '../../src/transport/errors.js';
import type { Stream } from '../../src/transport/mux/index.js';
import { withTimeout } from '../support/libp2p-yamux.js';

/** What a listened stream delivered. */
export interface Received {
  /** Resolves with every chunk when the peer half-closes; rejects if the stream closes with an error first. */
  readonly data: Promise<Uint8Array[]>;
  /** Resolves when the stream leaves the table: undefined for a clean close, else the error. */
  readonly closed: Promise<TransportError | undefined>;
}

/** Attach a listener that keeps every chunk. */
export function receive(stream: Stream, timeoutMs = 30_000): Received {
  const chunks: Uint8Array[] = [];
  let ended!: (c: Uint8Array[]) => void;
  let failed!: (e: unknown) => void;
  let closedWith!: (e: TransportError | undefined) => void;
  const data = new Promise<Uint8Array[]>((res, rej) => {
    ended = res;
    failed = rej;
  });
  const closed = new Promise<TransportError | undefined>((res) => {
    closedWith = res;
  });
  stream.listen({
    onData: (c) => chunks.push(c),
    onEnd: () => ended(chunks),
    onClose: (err) => {
      if (err) failed(err);
      else ended(chunks);
      closedWith(err);
    },
  });
  const bounded = withTimeout(data, timeoutMs, `end of our stream ${stream.id}`);
  bounded.catch(() => {}); // A spec that only awaits `closed` must not see an unhandled rejection.
  return {
    data: bounded,
    closed: withTimeout(closed, timeoutMs, `close of our stream ${stream.id}`),
  };
}

/** Write `data` in pieces of the given sizes (cycled), waiting for drained() when write() says so. */
export async function sendAll(
  stream: Stream,
  data: Uint8Array,
  sizes: readonly number[] = [65_536],
): Promise<void> {
  let i = 0;
  for (let off = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    if (!stream.write(data.subarray(off, off + n))) await withTimeout(stream.drained(), 30_000, 'drained');
    off += n;
  }
}

/**
 * Echo every chunk back, pausing reads while our writes are not drained; half-close after the peer does.
 * Resolves with the stream's close error (undefined for a clean close). Never throws into the session.
 */
export function echo(stream: Stream): Promise<TransportError | undefined> {
  return new Promise((resolve) =>
    stream.listen({
      onData(chunk) {
        try {
          if (!stream.write(chunk)) {
            stream.pause();
            stream.drained().then(
              () => stream.resume(),
              () => {},
            );
          }
        } catch {
          // Reset under us: onClose reports it.
        }
      },
      onEnd() {
        try {
          stream.end();
        } catch {}
      },
      onClose: resolve,
    }),
  );
}

/** SHA-256 hex of the concatenation of `chunks`. */
export function sha256(...chunks: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}
