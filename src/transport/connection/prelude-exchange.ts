/**
 * Running the prelude (docs/PROTOCOL.md section 2) over a byte stream: the client's half, and the
 * server's ACCEPT or REJECT. The server never reads before it has written ACCEPT; the client never
 * reports success before it has read ACCEPT. Bytes after the peer's prelude frame stay unread.
 */
import type { Duplex } from 'node:stream';
import type { PreludeFrame } from './prelude.js';
import {
  clientPreludeOver,
  type Negotiated,
  readPreludeFrame as readFrame,
  rejectionError,
} from './prelude-client.js';
import { serverAcceptOver, serverRejectOn } from './prelude-server.js';
import { duplexStream } from './read-exactly.js';

export { type Negotiated, rejectionError };

/** Reads one whole prelude frame. Rejects HANDSHAKE_FAILED (malformed) or CONNECTION_LOST. */
export function readPreludeFrame(socket: Duplex): Promise<PreludeFrame> {
  return readFrame(duplexStream(socket));
}

/**
 * The client's half: writes HELLO (now, before returning), reads the server's answer. Resolves on
 * ACCEPT with the negotiated version and codec. Rejects with the error a REJECT maps to
 * ({@link rejectionError}), HANDSHAKE_FAILED (malformed answer, a HELLO instead of an answer, nothing
 * in common) or CONNECTION_LOST. Never throws.
 */
export function clientPrelude(socket: Duplex): Promise<Negotiated> {
  return clientPreludeOver(duplexStream(socket));
}

/**
 * The server's half once it has accepted ({@link serverAcceptOver}): writes ACCEPT (now, before
 * returning), then reads the client's HELLO. Rejects HANDSHAKE_FAILED (malformed, not a HELLO, nothing
 * in common) or CONNECTION_LOST. Never throws.
 */
export function serverAccept(socket: Duplex): Promise<Negotiated> {
  // The HELLO is read only on the next turn of the event loop. On TLS, the ACCEPT is written while
  // Node still processes the read that completed the handshake (which mostly carries the HELLO too),
  // and Node sends it only when that processing ends, after all the JavaScript it triggers. Reading
  // the HELLO at once would put handling it and handing the connection over (onConnection) before
  // the ACCEPT on the wire, while the client waits for the ACCEPT and nothing waits for the HELLO.
  return serverAcceptOver(duplexStream(socket), nextTurn);
}

/** Resolves on the next turn of Node's event loop (setImmediate). */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * The server's refusal over a Node socket ({@link serverRejectOn}): writes REJECT, ends its side, and
 * discards what the client still sends until it closes or `lingerMs` passes. Never throws.
 */
export function serverReject(socket: Duplex, reason: number, message: string, lingerMs: number): void {
  serverRejectOn(socket, reason, message, lingerMs);
}
