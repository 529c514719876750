/**
 * The first-bytes deadline of a listener whose clients speak first (TLS: the ClientHello is sent at
 * connect). A connection that stays silent is an idle socket holding a handshake slot; it is dropped
 * long before the whole-handshake deadline.
 *
 * The deadline only looks at the socket's byte count (`bytesRead`, counted by its handle): it never
 * reads from the socket itself, so TLS takes the socket over untouched (a socket whose first bytes were
 * pulled into its JavaScript buffer makes TLS read through a slower path for the connection's whole
 * life).
 */
import type net from 'node:net';

/**
 * Calls `onSilent` once if `raw` has received no byte `timeoutMs` after this call (and is still open);
 * returns the function that cancels the deadline. `timeoutMs` 0: no deadline.
 */
export function firstBytesDeadline(raw: net.Socket, timeoutMs: number, onSilent: () => void): () => void {
  if (timeoutMs <= 0) return noop;
  const timer = setTimeout(() => {
    if (raw.bytesRead === 0 && !raw.destroyed) onSilent();
  }, timeoutMs);
  timer.unref();
  return () => clearTimeout(timer);
}

function noop(): void {}
