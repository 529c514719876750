/**
 * Running the prelude (docs/PROTOCOL.md section 2) over a byte stream: the client's half, and the
 * server's ACCEPT or REJECT. The server never reads before it has written ACCEPT; the client never
 * reports success before it has read ACCEPT. Bytes after the peer's prelude frame stay unread.
 */
import type { Duplex } from 'node:stream';
import { type TransportError, transportError } from '../errors.js';
import {
  decodePrelude,
  encodeAccept,
  encodeHello,
  encodeReject,
  negotiate,
  OUR_HELLO,
  PRELUDE_HEADER_LENGTH,
  type PreludeFrame,
  preludeFrameLength,
  RejectReason,
  rejectReasonName,
} from './prelude.js';
import { readExactly } from './read-exactly.js';

/** The outcome of a prelude both sides agree on. */
export interface Negotiated {
  readonly version: number;
  readonly codec: 'msgpack';
}

/** Reads one whole prelude frame. Rejects HANDSHAKE_FAILED (malformed) or CONNECTION_LOST. */
export function readPreludeFrame(socket: Duplex): Promise<PreludeFrame> {
  // Promise chains rather than async functions: this sits on the handshake's critical path, and each
  // async layer costs extra turns of the microtask queue.
  return readExactly(socket, PRELUDE_HEADER_LENGTH).then((header) => {
    const length = preludeFrameLength(header);
    if (length === PRELUDE_HEADER_LENGTH) return decodePrelude(header);
    return readExactly(socket, length - PRELUDE_HEADER_LENGTH).then((body) =>
      decodePrelude(Buffer.concat([header, body])),
    );
  });
}

/**
 * The client's half: writes HELLO (now, before returning), reads the server's answer. Resolves on
 * ACCEPT with the negotiated version and codec. Rejects with the error a REJECT maps to
 * ({@link rejectionError}), HANDSHAKE_FAILED (malformed answer, a HELLO instead of an answer, nothing
 * in common) or CONNECTION_LOST. Never throws.
 */
export function clientPrelude(socket: Duplex): Promise<Negotiated> {
  socket.write(encodeHello());
  return readPreludeFrame(socket).then((frame) => {
    if (frame.kind === 'REJECT') throw rejectionError(frame.reason, frame.message);
    if (frame.kind !== 'ACCEPT')
      throw transportError('HANDSHAKE_FAILED', `server sent ${frame.kind}, expected ACCEPT or REJECT`);
    return agree(frame);
  });
}

/**
 * The server's half once it has accepted: writes ACCEPT (now, before returning), then reads the
 * client's HELLO. Rejects HANDSHAKE_FAILED (malformed, not a HELLO, nothing in common) or
 * CONNECTION_LOST. Never throws.
 */
export function serverAccept(socket: Duplex): Promise<Negotiated> {
  socket.write(encodeAccept());
  // The HELLO is read only on the next turn of the event loop. On TLS, the ACCEPT is written while
  // Node still processes the read that completed the handshake (which mostly carries the HELLO too),
  // and Node sends it only when that processing ends, after all the JavaScript it triggers. Reading
  // the HELLO at once would put handling it and handing the connection over (onConnection) before
  // the ACCEPT on the wire, while the client waits for the ACCEPT and nothing waits for the HELLO.
  return new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => readPreludeFrame(socket))
    .then((frame) => {
      if (frame.kind !== 'HELLO')
        throw transportError('HANDSHAKE_FAILED', `client sent ${frame.kind}, expected HELLO`);
      return agree(frame);
    });
}

/**
 * The server's refusal: writes REJECT, ends its side, and discards whatever the client still sends
 * (never parsed) until the client closes or `lingerMs` passes, then destroys the socket. Waiting lets
 * the client read the REJECT instead of losing it to a reset. Never throws.
 */
export function serverReject(socket: Duplex, reason: number, message: string, lingerMs: number): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  socket.once('close', () => clearTimeout(timer));
  socket.on('error', () => socket.destroy());
  socket.end(encodeReject(reason, message));
  socket.resume();
}

/**
 * The error a client fails its connect with after reading a REJECT: UNAUTHENTICATED (UNKNOWN_KEY,
 * NO_CERTIFICATE, BAD_CERTIFICATE, EXPIRED and reasons this version does not know), HANDSHAKE_FAILED
 * (VERSION) or CONNECTION_LIMIT (OVERLOADED). `remoteCode` is the reason's name.
 */
export function rejectionError(reason: number, message: string): TransportError {
  const name = rejectReasonName(reason);
  const code =
    reason === RejectReason.VERSION
      ? 'HANDSHAKE_FAILED'
      : reason === RejectReason.OVERLOADED
        ? 'CONNECTION_LIMIT'
        : 'UNAUTHENTICATED';
  const shown = message === '' ? '' : `: ${JSON.stringify(message.slice(0, 200))}`;
  return transportError(code, `server rejected the connection (${name})${shown}`, { remoteCode: name });
}

function agree(peer: { minVersion: number; maxVersion: number; codecs: number }): Negotiated {
  const result = negotiate(OUR_HELLO, peer);
  if (!result) {
    throw transportError(
      'HANDSHAKE_FAILED',
      `no common protocol version or codec (peer speaks ${peer.minVersion}..${peer.maxVersion}, codecs 0x${peer.codecs.toString(16)})`,
    );
  }
  // MessagePack is the only codec bit defined; negotiate() only returns bits we offered.
  return { version: result.version, codec: 'msgpack' };
}
