/**
 * The prelude's client half (docs/PROTOCOL.md section 2) over any {@link HandshakeStream}, and what
 * both halves share: reading one frame, the error a REJECT maps to, agreeing on a version. No Node
 * built-ins (the browser build dials with it); prelude-exchange.ts runs it over Node sockets and holds
 * the server's half.
 */
import { type TransportError, transportError } from '../errors.js';
import type { HandshakeStream } from './byte-reader.js';
import {
  decodePrelude,
  encodeHello,
  negotiate,
  OUR_HELLO,
  PRELUDE_HEADER_LENGTH,
  type PreludeFrame,
  preludeFrameLength,
  RejectReason,
  rejectReasonName,
} from './prelude.js';

/** The outcome of a prelude both sides agree on. */
export interface Negotiated {
  readonly version: number;
  readonly codec: 'msgpack';
}

/** Reads one whole prelude frame. Rejects HANDSHAKE_FAILED (malformed) or CONNECTION_LOST. */
export function readPreludeFrame(stream: HandshakeStream): Promise<PreludeFrame> {
  // Promise chains rather than async functions: this sits on the handshake's critical path, and each
  // async layer costs extra turns of the microtask queue.
  return stream.readExactly(PRELUDE_HEADER_LENGTH).then((header) => {
    const length = preludeFrameLength(header);
    if (length === PRELUDE_HEADER_LENGTH) return decodePrelude(header);
    return stream.readExactly(length - PRELUDE_HEADER_LENGTH).then((body) => {
      const frame = new Uint8Array(length);
      frame.set(header);
      frame.set(body, PRELUDE_HEADER_LENGTH);
      return decodePrelude(frame);
    });
  });
}

/**
 * The client's half: writes HELLO (now, before returning), reads the server's answer. Resolves on
 * ACCEPT with the negotiated version and codec. Rejects with the error a REJECT maps to
 * ({@link rejectionError}), HANDSHAKE_FAILED (malformed answer, a HELLO instead of an answer, nothing
 * in common) or CONNECTION_LOST. Never throws.
 */
export function clientPreludeOver(stream: HandshakeStream): Promise<Negotiated> {
  stream.write(encodeHello());
  return readPreludeFrame(stream).then((frame) => {
    if (frame.kind === 'REJECT') throw rejectionError(frame.reason, frame.message);
    if (frame.kind !== 'ACCEPT')
      throw transportError('HANDSHAKE_FAILED', `server sent ${frame.kind}, expected ACCEPT or REJECT`);
    return agree(frame);
  });
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

/** The version and codec both hellos allow. Throws HANDSHAKE_FAILED when they have none in common. */
export function agree(peer: { minVersion: number; maxVersion: number; codecs: number }): Negotiated {
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
