/**
 * The in-band key handshake's codec (docs/PROTOCOL.md section 2.2): the three messages and the
 * transcript each side signs. Pure functions on Uint8Array (no Buffer, no Node built-ins), so the
 * browser build can share it; reading them from a socket lives in inband.ts.
 */
import { transportError } from '../errors.js';

/** Every in-band message starts with these four bytes, ASCII `RXIB`. */
export const INBAND_MAGIC = Uint8Array.of(0x52, 0x58, 0x49, 0x42);
/** The handshake version (offset 4). */
export const INBAND_VERSION = 0x01;

/** The kind byte (offset 5). */
export const InbandKind = {
  /** Client → server, first: the client's nonce and key. */
  CLIENT_HELLO: 0x01,
  /** Server → client: the server's nonce, key and its signature of the server transcript. */
  SERVER_PROOF: 0x02,
  /** Client → server: the client's signature of the client transcript, and its grant if any. */
  CLIENT_PROOF: 0x03,
  /**
   * Server → client, in place of SERVER_PROOF: the same fields, then the server's grant (its length,
   * its bytes), which the server transcript then ends with.
   */
  SERVER_PROOF_GRANT: 0x04,
} as const;

/** Bytes of the header every message starts with: magic, version, kind. */
export const INBAND_HEADER_LENGTH = 6;
/** Bytes of a nonce. */
export const NONCE_LENGTH = 32;
/** Bytes of an ed25519 public key and signature. */
export const KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;
/** CLIENT_HELLO: header, client nonce, client key. */
export const CLIENT_HELLO_LENGTH = INBAND_HEADER_LENGTH + NONCE_LENGTH + KEY_LENGTH;
/** SERVER_PROOF: header, server nonce, server key, signature. */
export const SERVER_PROOF_LENGTH = INBAND_HEADER_LENGTH + NONCE_LENGTH + KEY_LENGTH + SIGNATURE_LENGTH;
/** The fixed part of a SERVER_PROOF with a grant: SERVER_PROOF's fields, grant length. */
export const SERVER_PROOF_GRANT_HEADER_LENGTH = SERVER_PROOF_LENGTH + 2;
/** The fixed part of CLIENT_PROOF: header, signature, grant length. */
export const CLIENT_PROOF_HEADER_LENGTH = INBAND_HEADER_LENGTH + SIGNATURE_LENGTH + 2;
/** Longest grant a CLIENT_PROOF or SERVER_PROOF may carry, bytes (a grant with the longest name is 202). */
export const MAX_INBAND_GRANT = 256;
/** Longest origin, bytes of UTF-8. */
export const MAX_INBAND_ORIGIN = 1024;

/** What both sides sign is prefixed by this label, a zero byte, the signer's role and a zero byte. */
export const TRANSCRIPT_LABEL = 'rxchan-inband-v1';
/** Bytes of the transcript before the origin. */
export const TRANSCRIPT_FIXED_LENGTH = 24 + 2 * NONCE_LENGTH + 2 * KEY_LENGTH + 2;

/** The values both transcripts bind. */
export interface TranscriptFields {
  readonly clientNonce: Uint8Array;
  readonly serverNonce: Uint8Array;
  readonly clientKey: Uint8Array;
  readonly serverKey: Uint8Array;
  /** The URL the client dialled, as both sides see it (see {@link canonicalOrigin}). */
  readonly origin: string;
  /**
   * The grant the server's proof carries, if any: the server transcript ends with its length and
   * bytes, so the server's signature covers it. The client transcript never includes it.
   */
  readonly serverGrant?: Uint8Array | undefined;
}

export interface ClientHello {
  readonly clientNonce: Uint8Array;
  readonly clientKey: Uint8Array;
}
export interface ServerProof {
  readonly serverNonce: Uint8Array;
  readonly serverKey: Uint8Array;
  readonly signature: Uint8Array;
  /** The server's grant (kind SERVER_PROOF_GRANT), or undefined (kind SERVER_PROOF). */
  readonly grant?: Uint8Array | undefined;
}
export interface ClientProof {
  readonly signature: Uint8Array;
  /** The grant bytes, or undefined (length 0). */
  readonly grant: Uint8Array | undefined;
}

/**
 * The bytes `role` signs: label `rxchan-inband-v1`, 0x00, the role (`client` or `server`, 6 ASCII
 * bytes), 0x00, client nonce, server nonce, client key, server key, origin length (2 bytes), origin;
 * for the server with `serverGrant`, then the grant's length (2 bytes) and the grant. Throws
 * RangeError for a field of the wrong size, an origin that is empty or over 1024 bytes, or a server
 * grant that is empty or over 256 bytes.
 */
export function transcript(role: 'client' | 'server', f: TranscriptFields): Uint8Array {
  fixed(f.clientNonce, NONCE_LENGTH, 'client nonce');
  fixed(f.serverNonce, NONCE_LENGTH, 'server nonce');
  fixed(f.clientKey, KEY_LENGTH, 'client key');
  fixed(f.serverKey, KEY_LENGTH, 'server key');
  const origin = new TextEncoder().encode(f.origin);
  if (origin.length === 0 || origin.length > MAX_INBAND_ORIGIN)
    throw new RangeError(`origin of ${origin.length} bytes, expected 1..${MAX_INBAND_ORIGIN}`);
  const grant = role === 'server' && f.serverGrant !== undefined ? serverGrant(f.serverGrant) : undefined;
  const tail = grant === undefined ? 0 : 2 + grant.length;
  const out = new Uint8Array(TRANSCRIPT_FIXED_LENGTH + origin.length + tail);
  out.set(ascii(TRANSCRIPT_LABEL), 0);
  out[16] = 0;
  out.set(ascii(role), 17);
  out[23] = 0;
  let at = 24;
  for (const part of [f.clientNonce, f.serverNonce, f.clientKey, f.serverKey]) {
    out.set(part, at);
    at += part.length;
  }
  out[at] = origin.length >> 8;
  out[at + 1] = origin.length & 0xff;
  out.set(origin, at + 2);
  if (grant !== undefined) {
    at += 2 + origin.length;
    out[at] = grant.length >> 8;
    out[at + 1] = grant.length & 0xff;
    out.set(grant, at + 2);
  }
  return out;
}

/** The 70 bytes of a CLIENT_HELLO. Throws RangeError for a field of the wrong size. */
export function encodeClientHello(hello: ClientHello): Uint8Array {
  const out = header(InbandKind.CLIENT_HELLO, CLIENT_HELLO_LENGTH);
  out.set(fixed(hello.clientNonce, NONCE_LENGTH, 'client nonce'), 6);
  out.set(fixed(hello.clientKey, KEY_LENGTH, 'client key'), 38);
  return out;
}

/**
 * The 134 bytes of a SERVER_PROOF; with a grant, a SERVER_PROOF_GRANT (136 bytes and the grant).
 * Throws RangeError for a field of the wrong size or a grant that is empty or over 256 bytes.
 */
export function encodeServerProof(proof: ServerProof): Uint8Array {
  const grant = proof.grant === undefined ? undefined : serverGrant(proof.grant);
  const out =
    grant === undefined
      ? header(InbandKind.SERVER_PROOF, SERVER_PROOF_LENGTH)
      : header(InbandKind.SERVER_PROOF_GRANT, SERVER_PROOF_GRANT_HEADER_LENGTH + grant.length);
  out.set(fixed(proof.serverNonce, NONCE_LENGTH, 'server nonce'), 6);
  out.set(fixed(proof.serverKey, KEY_LENGTH, 'server key'), 38);
  out.set(fixed(proof.signature, SIGNATURE_LENGTH, 'signature'), 70);
  if (grant !== undefined) {
    out[134] = grant.length >> 8;
    out[135] = grant.length & 0xff;
    out.set(grant, SERVER_PROOF_GRANT_HEADER_LENGTH);
  }
  return out;
}

/** A CLIENT_PROOF (72 bytes and the grant). Throws RangeError for a bad size or a grant over 256 bytes. */
export function encodeClientProof(proof: ClientProof): Uint8Array {
  const grant = proof.grant ?? new Uint8Array(0);
  if (grant.length > MAX_INBAND_GRANT)
    throw new RangeError(`grant of ${grant.length} bytes, at most ${MAX_INBAND_GRANT}`);
  const out = header(InbandKind.CLIENT_PROOF, CLIENT_PROOF_HEADER_LENGTH + grant.length);
  out.set(fixed(proof.signature, SIGNATURE_LENGTH, 'signature'), 6);
  out[70] = grant.length >> 8;
  out[71] = grant.length & 0xff;
  out.set(grant, CLIENT_PROOF_HEADER_LENGTH);
  return out;
}

/**
 * Checks the 6-byte header of a message of `kind`. Throws TransportError HANDSHAKE_FAILED for bad
 * magic, an unknown version or another kind.
 */
export function checkHeader(bytes: Uint8Array, kind: number): void {
  if (bytes.length < INBAND_HEADER_LENGTH) throw malformed(`${bytes.length} bytes, a header needs 6`);
  for (let i = 0; i < 4; i++)
    if (bytes[i] !== INBAND_MAGIC[i]) throw malformed(`bad magic ${hex(bytes.subarray(0, 4))}`);
  if (bytes[4] !== INBAND_VERSION) throw malformed(`unknown version 0x${byteHex(bytes[4]!)}`);
  if (bytes[5] !== kind)
    throw malformed(`kind 0x${byteHex(bytes[5]!)} where 0x${byteHex(kind)} was expected`);
}

/** Decodes exactly the 70 bytes of a CLIENT_HELLO. Throws TransportError HANDSHAKE_FAILED. */
export function decodeClientHello(bytes: Uint8Array): ClientHello {
  checkHeader(bytes, InbandKind.CLIENT_HELLO);
  length(bytes, CLIENT_HELLO_LENGTH);
  return { clientNonce: bytes.slice(6, 38), clientKey: bytes.slice(38, 70) };
}

/**
 * Decodes exactly one whole SERVER_PROOF (134 bytes) or SERVER_PROOF_GRANT (136 bytes and the grant).
 * Throws TransportError HANDSHAKE_FAILED.
 */
export function decodeServerProof(bytes: Uint8Array): ServerProof {
  const fields = {
    serverNonce: bytes.slice(6, 38),
    serverKey: bytes.slice(38, 70),
    signature: bytes.slice(70, 134),
  };
  if (bytes.length >= INBAND_HEADER_LENGTH && bytes[5] === InbandKind.SERVER_PROOF_GRANT) {
    const n = serverProofGrantLength(bytes);
    length(bytes, SERVER_PROOF_GRANT_HEADER_LENGTH + n);
    return { ...fields, grant: bytes.slice(SERVER_PROOF_GRANT_HEADER_LENGTH) };
  }
  checkHeader(bytes, InbandKind.SERVER_PROOF);
  length(bytes, SERVER_PROOF_LENGTH);
  return fields;
}

/**
 * The grant length a SERVER_PROOF_GRANT's first 136 bytes announce, after checking the header. Throws
 * TransportError HANDSHAKE_FAILED for a bad header, a length of 0 or one over 256.
 */
export function serverProofGrantLength(head: Uint8Array): number {
  checkHeader(head, InbandKind.SERVER_PROOF_GRANT);
  if (head.length < SERVER_PROOF_GRANT_HEADER_LENGTH)
    throw malformed('SERVER_PROOF_GRANT shorter than 136 bytes');
  const n = (head[134]! << 8) | head[135]!;
  if (n === 0 || n > MAX_INBAND_GRANT)
    throw malformed(`server grant length ${n}, expected 1..${MAX_INBAND_GRANT}`);
  return n;
}

/**
 * The grant length a CLIENT_PROOF's first 72 bytes announce, after checking the header. Throws
 * TransportError HANDSHAKE_FAILED for a bad header or a length over 256.
 */
export function clientProofGrantLength(head: Uint8Array): number {
  checkHeader(head, InbandKind.CLIENT_PROOF);
  if (head.length < CLIENT_PROOF_HEADER_LENGTH) throw malformed('CLIENT_PROOF shorter than 72 bytes');
  const n = (head[70]! << 8) | head[71]!;
  if (n > MAX_INBAND_GRANT) throw malformed(`grant length ${n} above ${MAX_INBAND_GRANT}`);
  return n;
}

/** Decodes exactly one whole CLIENT_PROOF. Throws TransportError HANDSHAKE_FAILED. */
export function decodeClientProof(bytes: Uint8Array): ClientProof {
  const n = clientProofGrantLength(bytes);
  length(bytes, CLIENT_PROOF_HEADER_LENGTH + n);
  return {
    signature: bytes.slice(6, 70),
    grant: n === 0 ? undefined : bytes.slice(CLIENT_PROOF_HEADER_LENGTH),
  };
}

/**
 * The origin both sides bind for a URL: `scheme://host[:port]/path`, as the WHATWG URL parser
 * normalises it (lower-case scheme and host, default port dropped, `/` for an empty path), without
 * query, fragment or credentials. Throws TypeError for a string that is not a URL.
 */
export function canonicalOrigin(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** Fresh random bytes (WebCrypto, in Node and browsers alike). */
export function randomNonce(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
}

function serverGrant(grant: Uint8Array): Uint8Array {
  if (!(grant instanceof Uint8Array) || grant.length === 0 || grant.length > MAX_INBAND_GRANT)
    throw new RangeError(`server grant must be 1..${MAX_INBAND_GRANT} bytes`);
  return grant;
}

function header(kind: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(INBAND_MAGIC, 0);
  out[4] = INBAND_VERSION;
  out[5] = kind;
  return out;
}

function fixed(bytes: Uint8Array, size: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== size)
    throw new RangeError(`${what} must be ${size} bytes`);
  return bytes;
}

function length(bytes: Uint8Array, want: number): void {
  if (bytes.length !== want) throw malformed(`message of ${bytes.length} bytes, expected ${want}`);
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function malformed(message: string) {
  return transportError('HANDSHAKE_FAILED', `malformed in-band handshake: ${message}`);
}

function byteHex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, byteHex).join(' ');
}
