/**
 * The prelude codec (docs/PROTOCOL.md section 2): the frames each side writes once, right after the
 * byte stream is established and before any multiplexer frame. Pure functions and their constants;
 * reading frames from a socket lives in prelude-exchange.ts.
 */
import { transportError } from '../errors.js';

/** Every prelude frame starts with these four bytes, ASCII `RXCH`. */
export const PRELUDE_MAGIC = Uint8Array.of(0x52, 0x58, 0x43, 0x48);

/** The kind byte (offset 4). */
export const PreludeKind = {
  /** Client → server: the client's version range and codecs. */
  HELLO: 0x01,
  /** Server → client: the client is accepted; also the server's hello. */
  ACCEPT: 0x02,
  /** Server → client: the client is refused, with a reason; the server then closes. */
  REJECT: 0x03,
} as const;
export type PreludeKind = (typeof PreludeKind)[keyof typeof PreludeKind];

/** REJECT reason codes (offset 5 of a REJECT). */
export const RejectReason = {
  /** The client's certificate key is not authorized on this server. */
  UNKNOWN_KEY: 0x01,
  /** The client presented no certificate. */
  NO_CERTIFICATE: 0x02,
  /** The client's certificate is not a valid ed25519 self-signed certificate (or is outside its validity). */
  BAD_CERTIFICATE: 0x03,
  /** No common protocol version or codec. */
  VERSION: 0x04,
  /** The server is at a connection or handshake limit; try later. */
  OVERLOADED: 0x05,
  /** The client's grant (delegation) has expired or does not verify. */
  EXPIRED: 0x06,
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];
export type RejectReasonName = keyof typeof RejectReason;

/** Bytes in a HELLO or ACCEPT frame, and in the fixed part of a REJECT. */
export const PRELUDE_HEADER_LENGTH = 8;
/** Longest REJECT message, bytes of UTF-8. */
export const MAX_REJECT_MESSAGE = 1024;
/** Longest prelude frame, bytes. */
export const MAX_PRELUDE_FRAME = PRELUDE_HEADER_LENGTH + MAX_REJECT_MESSAGE;

/** Protocol versions this implementation speaks. */
export const MIN_PROTOCOL_VERSION = 2;
export const MAX_PROTOCOL_VERSION = 2;
/** Codec bits: bit 0 is MessagePack; the others are reserved and sent as 0. */
export const Codec = { MSGPACK: 0x01 } as const;
/** The codec set this implementation speaks. */
export const SUPPORTED_CODECS = Codec.MSGPACK;

/** What HELLO and ACCEPT carry. */
export interface Hello {
  /** Lowest protocol version the sender speaks, >= 1. */
  readonly minVersion: number;
  /** Highest protocol version the sender speaks, >= minVersion. */
  readonly maxVersion: number;
  /** Codec bit set; reserved bits are kept as received, negotiation ignores what it does not know. */
  readonly codecs: number;
}

/** This implementation's hello: versions 2..2, MessagePack. */
export const OUR_HELLO: Hello = {
  minVersion: MIN_PROTOCOL_VERSION,
  maxVersion: MAX_PROTOCOL_VERSION,
  codecs: SUPPORTED_CODECS,
};

export type PreludeFrame =
  | ({ readonly kind: 'HELLO' | 'ACCEPT' } & Hello)
  | { readonly kind: 'REJECT'; readonly reason: number; readonly message: string };

/** The name of a reason code, or `REASON_0x..` for one this version does not know. */
export function rejectReasonName(reason: number): string {
  for (const [name, code] of Object.entries(RejectReason)) if (code === reason) return name;
  return `REASON_0x${reason.toString(16).padStart(2, '0')}`;
}

/** The 8 bytes of a HELLO. Throws RangeError for a malformed hello. */
export function encodeHello(hello: Hello = OUR_HELLO): Uint8Array {
  return encodeHelloLike(PreludeKind.HELLO, hello);
}

/** The 8 bytes of an ACCEPT. Throws RangeError for a malformed hello. */
export function encodeAccept(hello: Hello = OUR_HELLO): Uint8Array {
  return encodeHelloLike(PreludeKind.ACCEPT, hello);
}

/**
 * A REJECT frame. The message is cut to at most 1024 bytes of UTF-8, at a character boundary.
 * Throws RangeError when `reason` is not a byte.
 */
export function encodeReject(reason: number, message = ''): Uint8Array {
  if (!Number.isInteger(reason) || reason < 0 || reason > 0xff)
    throw new RangeError(`reason ${reason} is not a byte`);
  const text = truncateUtf8(message, MAX_REJECT_MESSAGE);
  const out = new Uint8Array(PRELUDE_HEADER_LENGTH + text.length);
  out.set(PRELUDE_MAGIC, 0);
  out[4] = PreludeKind.REJECT;
  out[5] = reason;
  out[6] = text.length >> 8;
  out[7] = text.length & 0xff;
  out.set(text, PRELUDE_HEADER_LENGTH);
  return out;
}

/**
 * The length of the frame whose first 8 bytes are `header`, after checking magic, kind and (for a
 * REJECT) the message length. Throws TransportError HANDSHAKE_FAILED for a bad header.
 */
export function preludeFrameLength(header: Uint8Array): number {
  if (header.length < PRELUDE_HEADER_LENGTH) throw new RangeError('prelude header needs 8 bytes');
  for (let i = 0; i < PRELUDE_MAGIC.length; i++) {
    if (header[i] !== PRELUDE_MAGIC[i])
      throw malformed(`bad magic ${hex(header.subarray(0, 4))}, expected 52 58 43 48`);
  }
  const kind = header[4]!;
  if (kind === PreludeKind.HELLO || kind === PreludeKind.ACCEPT) return PRELUDE_HEADER_LENGTH;
  if (kind !== PreludeKind.REJECT)
    throw malformed(`unknown prelude kind 0x${kind.toString(16).padStart(2, '0')}`);
  const n = (header[6]! << 8) | header[7]!;
  if (n > MAX_REJECT_MESSAGE) throw malformed(`REJECT message length ${n} above ${MAX_REJECT_MESSAGE}`);
  return PRELUDE_HEADER_LENGTH + n;
}

/**
 * Decodes one whole prelude frame (exactly its bytes). Throws TransportError HANDSHAKE_FAILED for bad
 * magic, an unknown kind, a version range that is empty or starts at 0, a REJECT length above 1024 or
 * not matching the bytes given. The REJECT message is decoded leniently (it is for humans).
 */
export function decodePrelude(bytes: Uint8Array): PreludeFrame {
  if (bytes.length < PRELUDE_HEADER_LENGTH)
    throw malformed(`prelude frame of ${bytes.length} bytes, at least 8 needed`);
  const length = preludeFrameLength(bytes);
  if (bytes.length !== length)
    throw malformed(`prelude frame of ${bytes.length} bytes, header says ${length}`);
  const kind = bytes[4]!;
  if (kind === PreludeKind.REJECT) {
    return {
      kind: 'REJECT',
      reason: bytes[5]!,
      message: new TextDecoder('utf-8').decode(bytes.subarray(PRELUDE_HEADER_LENGTH)),
    };
  }
  const minVersion = bytes[5]!;
  const maxVersion = bytes[6]!;
  if (minVersion === 0 || minVersion > maxVersion) {
    throw malformed(`bad version range ${minVersion}..${maxVersion}`);
  }
  return { kind: kind === PreludeKind.HELLO ? 'HELLO' : 'ACCEPT', minVersion, maxVersion, codecs: bytes[7]! };
}

/**
 * What both sides compute from HELLO and ACCEPT, with no further round trip: the highest version in
 * both ranges and the lowest codec bit in both sets; undefined when there is none (both sides then
 * close with HANDSHAKE_FAILED).
 */
export function negotiate(a: Hello, b: Hello): { version: number; codec: number } | undefined {
  const version = Math.min(a.maxVersion, b.maxVersion);
  if (version < Math.max(a.minVersion, b.minVersion)) return undefined;
  const common = a.codecs & b.codecs & 0xff;
  if (common === 0) return undefined;
  return { version, codec: common & -common };
}

function encodeHelloLike(kind: PreludeKind, hello: Hello): Uint8Array {
  const { minVersion, maxVersion, codecs } = hello;
  const byte = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xff;
  if (
    !byte(minVersion) ||
    !byte(maxVersion) ||
    !byte(codecs) ||
    minVersion === 0 ||
    minVersion > maxVersion
  ) {
    throw new RangeError(`bad hello ${JSON.stringify(hello)}`);
  }
  const out = new Uint8Array(PRELUDE_HEADER_LENGTH); // not Uint8Array.of(...magic): spreading is slow
  out.set(PRELUDE_MAGIC, 0);
  out[4] = kind;
  out[5] = minVersion;
  out[6] = maxVersion;
  out[7] = codecs;
  return out;
}

function truncateUtf8(text: string, max: number): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // do not split a multi-byte character
  return bytes.slice(0, end);
}

function malformed(message: string) {
  return transportError('HANDSHAKE_FAILED', `malformed prelude: ${message}`);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
