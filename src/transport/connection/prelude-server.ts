/**
 * The prelude's server half (docs/PROTOCOL.md section 2) over any {@link HandshakeStream}: ACCEPT and
 * the client's HELLO, or REJECT and the close. No Node built-ins: a browser page or Worker serving a
 * MessagePort runs it; prelude-exchange.ts runs it over Node sockets.
 */
import { transportError } from '../errors.js';
import type { HandshakeStream } from './byte-reader.js';
import { encodeAccept, encodeReject } from './prelude.js';
import { agree, type Negotiated, readPreludeFrame } from './prelude-client.js';

/**
 * The server's half once it has accepted: writes ACCEPT (now, before returning), then reads the
 * client's HELLO, after `turn` when given (Node's sockets need one: prelude-exchange.ts). Rejects
 * HANDSHAKE_FAILED (malformed, not a HELLO, nothing in common) or CONNECTION_LOST. Never throws.
 */
export function serverAcceptOver(stream: HandshakeStream, turn?: () => Promise<void>): Promise<Negotiated> {
  stream.write(encodeAccept());
  const read = () =>
    readPreludeFrame(stream).then((frame) => {
      if (frame.kind !== 'HELLO')
        throw transportError('HANDSHAKE_FAILED', `client sent ${frame.kind}, expected HELLO`);
      return agree(frame);
    });
  return turn === undefined ? read() : turn().then(read);
}

/**
 * What a REJECT needs of a socket: a Node Duplex has it, and so do the browser's byte sockets
 * (PortSocket, WebSocketBytes).
 */
export interface RejectSocket {
  readonly destroyed: boolean;
  write(chunk: Uint8Array): unknown;
  end(): unknown;
  destroy(): unknown;
  resume(): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * The server's refusal: writes REJECT, ends its side, and discards whatever the client still sends
 * (never parsed) until the client closes or `lingerMs` passes, then destroys the socket. Waiting lets
 * the client read the REJECT instead of losing it to a reset. Never throws.
 */
export function serverRejectOn(
  socket: RejectSocket,
  reason: number,
  message: string,
  lingerMs: number,
): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  socket.on('close', () => clearTimeout(timer));
  socket.on('error', () => socket.destroy());
  socket.write(encodeReject(reason, message));
  socket.end();
  socket.resume();
}
