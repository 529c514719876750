/**
 * The in-band key handshake (docs/PROTOCOL.md section 2.2): how a byte stream that authenticates
 * nobody by itself (a WebSocket, a MessagePort) proves both sides' ed25519 keys before the prelude.
 * The client sends a nonce and its key; the server answers with its nonce and key, signing the
 * transcript (both nonces, both keys, the origin); the client checks the server's key against its pin
 * and the signature, then signs the transcript itself (and shows a grant if it has one). The server
 * judges the client as it judges a TLS client (judge.ts), then the prelude runs as on TLS: ACCEPT or
 * REJECT with its reasons, and version negotiation.
 */
import type { Duplex } from 'node:stream';
import nacl from 'tweetnacl';
import { type AuthorizedKeys, keysEqual, peerIdentity, toKeyBytes } from '../../auth/index.js';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import type { Connection } from './connection.js';
import {
  CLIENT_HELLO_LENGTH,
  CLIENT_PROOF_HEADER_LENGTH,
  checkHeader,
  clientProofGrantLength,
  decodeClientHello,
  decodeClientProof,
  decodeServerProof,
  encodeClientHello,
  encodeClientProof,
  encodeServerProof,
  INBAND_HEADER_LENGTH,
  InbandKind,
  MAX_INBAND_GRANT,
  MAX_INBAND_ORIGIN,
  randomNonce,
  SERVER_PROOF_LENGTH,
  type TranscriptFields,
  transcript,
} from './inband-codec.js';
import { judgeKey } from './judge.js';
import type { Verdict } from './listener.js';
import {
  decodePrelude,
  PRELUDE_HEADER_LENGTH,
  PRELUDE_MAGIC,
  preludeFrameLength,
  RejectReason,
} from './prelude.js';
import { clientPrelude, rejectionError, serverAccept, serverReject } from './prelude-exchange.js';
import { readExactly } from './read-exactly.js';
import { ServerRefusal } from './server-trust.js';

/** An ed25519 key that can sign: Identity implements it in Node; the browser build brings a WebCrypto one. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export interface InbandDialOptions {
  /** Our key: we sign the client transcript with it. */
  signer: Ed25519Signer;
  /** The server key we pin (32 bytes or base64url text): any other fails UNAUTHENTICATED SERVER_KEY_MISMATCH. */
  serverKey: string | Uint8Array;
  /** The origin both sides bind: for a WebSocket the URL we dialled (canonicalOrigin), exactly as the server sees it. */
  origin: string;
  /** A grant (signGrant) for servers that trust its admin: base64url text or the bytes. */
  grant?: string | Uint8Array;
  /** Deadline for the whole handshake and prelude, ms; 0: none. Default 5000. */
  timeoutMs?: number;
  /** Reported as the Connection's `remoteAddress`. */
  remoteAddress?: string;
}

export interface InbandAcceptOptions {
  /** Our key: we sign the server transcript with it. */
  signer: Ed25519Signer;
  /** Who may connect (keys, and `@admin` keys whose grants are honoured). */
  authorizedKeys: AuthorizedKeys;
  /** The origin this connection was made to (the client signs the one it dialled: they must be equal). */
  origin: string;
  /** Deadline for the whole handshake and prelude, ms; 0: none. Default 5000. */
  timeoutMs?: number;
  /**
   * Accepted for symmetry with TLS. The in-band handshake carries no dates to check (the nonces give
   * freshness) and grants expire with no tolerance, so it has no effect.
   */
  clockToleranceMs?: number;
  /** After a REJECT, how long to wait for the client to close before destroying the stream, ms. Default 1000. */
  rejectLingerMs?: number;
  /** Reported as the Connection's `remoteAddress`. */
  remoteAddress?: string;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_LINGER_MS = 1000;

/**
 * The client's side: proves our key, checks the server's, then the prelude. Resolves after the
 * server's ACCEPT with a Connection (role 'client', peer the server's key). Rejects with
 * TransportError, destroying `socket`:
 * - UNAUTHENTICATED, `remoteCode` SERVER_KEY_MISMATCH (the server's key is not the pinned one),
 *   SERVER_BAD_SIGNATURE (its signature does not verify: not that key's holder, or another origin), or
 *   the REJECT reason (UNKNOWN_KEY, BAD_CERTIFICATE: our signature did not verify, EXPIRED);
 * - CONNECTION_LIMIT (REJECT OVERLOADED), HANDSHAKE_FAILED (malformed message, no common version),
 *   HANDSHAKE_TIMEOUT, CONNECTION_LOST, INVALID_CONFIG (a bad pin, grant or origin).
 */
export function dialInband(socket: Duplex, options: InbandDialOptions): Promise<Connection> {
  let pinned: Uint8Array;
  let grant: Uint8Array | undefined;
  try {
    pinned = toKeyBytes(options.serverKey, 'serverKey');
    grant = options.grant === undefined ? undefined : grantBytes(options.grant);
    checkOrigin(options.origin);
  } catch (err) {
    socket.destroy();
    return Promise.reject(asConfigError(err));
  }
  const run = async (): Promise<Connection> => {
    const clientNonce = randomNonce();
    const clientKey = Uint8Array.from(options.signer.publicKey);
    socket.write(encodeClientHello({ clientNonce, clientKey }));
    const head = await readExactly(socket, INBAND_HEADER_LENGTH);
    if (startsWith(head, PRELUDE_MAGIC)) throw await earlyRefusal(socket, head);
    checkHeader(head, InbandKind.SERVER_PROOF);
    const rest = await readExactly(socket, SERVER_PROOF_LENGTH - INBAND_HEADER_LENGTH);
    const proof = decodeServerProof(concat(head, rest));
    const server = peerIdentity(proof.serverKey);
    if (!keysEqual(proof.serverKey, pinned)) {
      throw refused(
        ServerRefusal.SERVER_KEY_MISMATCH,
        `server key ${server.fingerprint} is not the pinned key`,
      );
    }
    const fields: TranscriptFields = {
      clientNonce,
      serverNonce: proof.serverNonce,
      clientKey,
      serverKey: proof.serverKey,
      origin: options.origin,
    };
    if (!verify(transcript('server', fields), proof.signature, proof.serverKey)) {
      throw refused(
        ServerRefusal.SERVER_BAD_SIGNATURE,
        `the server's handshake signature does not verify for origin ${options.origin} (a server bound to another origin, or not the holder of key ${server.fingerprint})`,
      );
    }
    const signature = await options.signer.sign(transcript('client', fields));
    socket.write(encodeClientProof({ signature, grant }));
    const negotiated = await clientPrelude(socket);
    return {
      socket,
      role: 'client',
      peer: server,
      version: negotiated.version,
      codec: negotiated.codec,
      resumed: false,
      remoteAddress: options.remoteAddress,
    };
  };
  return withDeadline(socket, run(), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
}

/**
 * The server's side: proves our key, reads and judges the client's proof, then ACCEPT (and the
 * client's HELLO) or REJECT. Resolves with a Connection (role 'server', peer the client's key and
 * the name the authorized keys or its grant give it). Rejects with TransportError, destroying
 * `socket` (after a REJECT: once the client closes, or after `rejectLingerMs`):
 * UNAUTHENTICATED (`remoteCode` the REJECT reason sent: UNKNOWN_KEY, BAD_CERTIFICATE for a signature
 * that does not verify, EXPIRED), HANDSHAKE_FAILED (malformed message, no common version),
 * HANDSHAKE_TIMEOUT, CONNECTION_LOST, INVALID_CONFIG (a bad origin).
 */
export function acceptInband(socket: Duplex, options: InbandAcceptOptions): Promise<Connection> {
  try {
    checkOrigin(options.origin);
  } catch (err) {
    socket.destroy();
    return Promise.reject(asConfigError(err));
  }
  let rejectSent = false;
  const run = async (): Promise<Connection> => {
    const verdict = await inbandVerdict(socket, options);
    if (!verdict.ok) {
      const linger = options.rejectLingerMs ?? DEFAULT_LINGER_MS;
      serverReject(socket, RejectReason[verdict.reason], verdict.message, linger);
      rejectSent = true;
      throw transportError('UNAUTHENTICATED', `rejected client (${verdict.reason}): ${verdict.message}`, {
        remoteCode: verdict.reason,
      });
    }
    const negotiated = await serverAccept(socket);
    return {
      socket,
      role: 'server',
      peer: verdict.peer,
      version: negotiated.version,
      codec: negotiated.codec,
      resumed: false,
      remoteAddress: options.remoteAddress,
    };
  };
  return withDeadline(socket, run(), options.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => rejectSent);
}

/**
 * The server's handshake up to its verdict, for listeners that apply their own limits before the
 * prelude: reads CLIENT_HELLO, writes SERVER_PROOF, reads CLIENT_PROOF and judges it (a signature
 * that does not verify: BAD_CERTIFICATE, with no peer, as nothing was proven). Writes nothing after
 * SERVER_PROOF. Rejects with TransportError HANDSHAKE_FAILED (malformed) or CONNECTION_LOST.
 */
export async function inbandVerdict(
  socket: Duplex,
  options: { signer: Ed25519Signer; authorizedKeys: AuthorizedKeys; origin: string },
): Promise<Verdict> {
  const head = await readExactly(socket, INBAND_HEADER_LENGTH);
  checkHeader(head, InbandKind.CLIENT_HELLO);
  const rest = await readExactly(socket, CLIENT_HELLO_LENGTH - INBAND_HEADER_LENGTH);
  const hello = decodeClientHello(concat(head, rest));
  const serverNonce = randomNonce();
  const serverKey = Uint8Array.from(options.signer.publicKey);
  const fields: TranscriptFields = { ...hello, serverNonce, serverKey, origin: options.origin };
  const signature = await options.signer.sign(transcript('server', fields));
  socket.write(encodeServerProof({ serverNonce, serverKey, signature }));
  const proofHead = await readExactly(socket, CLIENT_PROOF_HEADER_LENGTH);
  const n = clientProofGrantLength(proofHead);
  const proof = decodeClientProof(n === 0 ? proofHead : concat(proofHead, await readExactly(socket, n)));
  if (!verify(transcript('client', fields), proof.signature, hello.clientKey)) {
    return {
      ok: false,
      reason: 'BAD_CERTIFICATE',
      message:
        'the handshake signature does not verify (signed for another origin or nonce, or not by the key shown)',
    };
  }
  return judgeKey(hello.clientKey, proof.grant, options.authorizedKeys);
}

/** ed25519 verification (tweetnacl: the same code in Node and browsers). Never throws. */
function verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return nacl.sign.detached.verify(message, signature, publicKey);
  } catch {
    return false;
  }
}

/** A server that answered our CLIENT_HELLO with a prelude frame: a REJECT (OVERLOADED, at a limit). */
async function earlyRefusal(socket: Duplex, head: Uint8Array): Promise<TransportError> {
  const more = await readExactly(socket, PRELUDE_HEADER_LENGTH - INBAND_HEADER_LENGTH);
  const header = concat(head, more);
  const total = preludeFrameLength(header);
  const frame = decodePrelude(
    total === PRELUDE_HEADER_LENGTH
      ? header
      : concat(header, await readExactly(socket, total - header.length)),
  );
  if (frame.kind === 'REJECT') return rejectionError(frame.reason, frame.message);
  return transportError('HANDSHAKE_FAILED', `server sent ${frame.kind} instead of its in-band proof`);
}

/**
 * Settles with `work`, or rejects HANDSHAKE_TIMEOUT after `timeoutMs` (0: never). On any failure the
 * socket is destroyed, except after a REJECT we wrote (`lingering()`: it then closes on its own).
 */
function withDeadline(
  socket: Duplex,
  work: Promise<Connection>,
  timeoutMs: number,
  lingering: () => boolean = () => false,
): Promise<Connection> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            if (done) return;
            done = true;
            socket.destroy();
            reject(
              transportError('HANDSHAKE_TIMEOUT', `in-band handshake not finished within ${timeoutMs} ms`),
            );
          }, timeoutMs)
        : undefined;
    work.then(
      (connection) => {
        clearTimeout(timer);
        if (done) return;
        done = true;
        resolve(connection);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (done) return;
        done = true;
        const error = isTransportError(err)
          ? err
          : transportError('INTERNAL_ERROR', String(err), { cause: err });
        if (!lingering()) socket.destroy();
        reject(error);
      },
    );
  });
}

function refused(refusal: ServerRefusal, message: string): TransportError {
  return transportError('UNAUTHENTICATED', `refusing the server (${refusal}): ${message}`, {
    remoteCode: refusal,
  });
}

function checkOrigin(origin: string): void {
  const n = typeof origin === 'string' ? new TextEncoder().encode(origin).length : 0;
  if (n === 0 || n > MAX_INBAND_ORIGIN)
    throw new RangeError(`origin must be a string of 1..${MAX_INBAND_ORIGIN} bytes of UTF-8`);
}

/** Grant bytes from base64url text or bytes. Throws RangeError when too long or not base64url. */
function grantBytes(grant: string | Uint8Array): Uint8Array {
  const bytes = typeof grant === 'string' ? fromBase64url(grant) : grant;
  if (bytes.length === 0 || bytes.length > MAX_INBAND_GRANT)
    throw new RangeError(`grant of ${bytes.length} bytes, expected 1..${MAX_INBAND_GRANT}`);
  return bytes;
}

function fromBase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new RangeError('grant text is not base64url');
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function asConfigError(err: unknown): TransportError {
  if (isTransportError(err)) return err;
  return transportError('INVALID_CONFIG', `in-band handshake: ${(err as Error).message}`, { cause: err });
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
