/**
 * The client's half of the in-band key handshake (docs/PROTOCOL.md section 2.2) and then the prelude,
 * over any {@link HandshakeStream}: a Node socket (inband.ts) or a browser WebSocket. No Node built-ins.
 */
import type { PeerIdentity } from '../../auth/identity.js';
import { keysEqual, toKeyBytes } from '../../auth/key-codec.js';
import { type TransportError, transportError } from '../errors.js';
import type { HandshakeStream } from './byte-reader.js';
import {
  checkHeader,
  decodeServerProof,
  encodeClientHello,
  encodeClientProof,
  INBAND_HEADER_LENGTH,
  InbandKind,
  MAX_INBAND_GRANT,
  randomNonce,
  SERVER_PROOF_GRANT_HEADER_LENGTH,
  SERVER_PROOF_LENGTH,
  serverProofGrantLength,
  type TranscriptFields,
  transcript,
} from './inband-codec.js';
import {
  asConfigError,
  checkOrigin,
  concat,
  DEFAULT_INBAND_TIMEOUT_MS,
  type Ed25519Signer,
  type Ed25519Verify,
  naclVerify,
  withDeadline,
} from './inband-common.js';
import { decodePrelude, PRELUDE_HEADER_LENGTH, PRELUDE_MAGIC, preludeFrameLength } from './prelude.js';
import { clientPreludeOver, type Negotiated, rejectionError } from './prelude-client.js';
import { ServerRefusal } from './server-refusal.js';

export interface InbandDialOptions {
  /** Our key: we sign the client transcript with it. */
  signer: Ed25519Signer;
  /** The server key we pin (32 bytes or base64url text): any other fails UNAUTHENTICATED SERVER_KEY_MISMATCH. */
  serverKey: string | Uint8Array;
  /** The origin both sides bind: for a WebSocket the URL we dialled (canonicalOrigin), exactly as the server sees it. */
  origin: string;
  /** A grant (signGrant) for servers that trust its admin: base64url text or the bytes. */
  grant?: string | Uint8Array;
  /**
   * Require the server to show a grant: called with the grant its proof carries (undefined for none)
   * and its key, after its signature verified; a problem (text) refuses it (UNAUTHENTICATED,
   * `remoteCode` SERVER_NO_GRANT) before we sign or send anything more. The same check as TLS's
   * `serverGrant`. Must not throw.
   */
  serverGrant?: (grant: Uint8Array | undefined, serverKey: Uint8Array) => string | undefined;
  /** Deadline for the whole handshake and prelude, ms; 0: none. Default 5000. */
  timeoutMs?: number;
  /** Reported as the Connection's `remoteAddress`. */
  remoteAddress?: string;
  /** How signatures are checked. Default: tweetnacl. */
  verify?: Ed25519Verify;
}

/** What the client learns: who the server is (its pinned key, proven) and what the prelude agreed. */
export interface InbandClientResult extends Negotiated {
  readonly server: PeerIdentity;
}

/**
 * The client's side: proves our key, checks the server's, then the prelude. Resolves after the
 * server's ACCEPT; bytes after it stay unread in `stream`. `identify` makes the server's PeerIdentity
 * from its key (Node: `peerIdentity`; a browser computes the fingerprint with WebCrypto). Rejects with
 * TransportError, destroying `stream`:
 * - UNAUTHENTICATED, `remoteCode` SERVER_KEY_MISMATCH (the server's key is not the pinned one),
 *   SERVER_BAD_SIGNATURE (its signature does not verify: not that key's holder, or another origin),
 *   SERVER_NO_GRANT (`serverGrant` found no grant, or one that does not hold), or the REJECT reason (UNKNOWN_KEY, BAD_CERTIFICATE: our signature did not verify, EXPIRED);
 * - CONNECTION_LIMIT (REJECT OVERLOADED), HANDSHAKE_FAILED (malformed message, no common version),
 *   HANDSHAKE_TIMEOUT, CONNECTION_LOST, INVALID_CONFIG (a bad pin, grant or origin).
 */
export function inbandClient(
  stream: HandshakeStream,
  options: InbandDialOptions,
  identify: (publicKey: Uint8Array) => PeerIdentity | Promise<PeerIdentity>,
): Promise<InbandClientResult> {
  let pinned: Uint8Array;
  let grant: Uint8Array | undefined;
  try {
    pinned = toKeyBytes(options.serverKey, 'serverKey');
    grant = options.grant === undefined ? undefined : grantBytes(options.grant);
    checkOrigin(options.origin);
  } catch (err) {
    stream.destroy();
    return Promise.reject(asConfigError(err));
  }
  const run = async (): Promise<InbandClientResult> => {
    const clientNonce = randomNonce();
    const clientKey = Uint8Array.from(options.signer.publicKey);
    stream.write(encodeClientHello({ clientNonce, clientKey }));
    const head = await stream.readExactly(INBAND_HEADER_LENGTH);
    if (startsWith(head, PRELUDE_MAGIC)) throw await earlyRefusal(stream, head);
    const proof = decodeServerProof(await readServerProof(stream, head));
    const server = await identify(proof.serverKey);
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
      serverGrant: proof.grant,
    };
    const verify = options.verify ?? naclVerify;
    if (!verify(transcript('server', fields), proof.signature, proof.serverKey)) {
      throw refused(
        ServerRefusal.SERVER_BAD_SIGNATURE,
        `the server's handshake signature does not verify for origin ${options.origin} (a server bound to another origin, or not the holder of key ${server.fingerprint})`,
      );
    }
    const problem = options.serverGrant?.(proof.grant, proof.serverKey);
    if (problem !== undefined) throw refused(ServerRefusal.SERVER_NO_GRANT, problem);
    const signature = await options.signer.sign(transcript('client', fields));
    stream.write(encodeClientProof({ signature, grant }));
    const negotiated = await clientPreludeOver(stream);
    return { server, version: negotiated.version, codec: negotiated.codec };
  };
  return withDeadline(stream, run(), options.timeoutMs ?? DEFAULT_INBAND_TIMEOUT_MS);
}

/**
 * The rest of a SERVER_PROOF (134 bytes) or SERVER_PROOF_GRANT (136 bytes and the grant) whose 6-byte
 * header is `head`. Throws TransportError HANDSHAKE_FAILED (bad header, bad grant length, before any
 * grant byte is read) or CONNECTION_LOST.
 */
async function readServerProof(stream: HandshakeStream, head: Uint8Array): Promise<Uint8Array> {
  const withGrant = head[5] === InbandKind.SERVER_PROOF_GRANT;
  checkHeader(head, withGrant ? InbandKind.SERVER_PROOF_GRANT : InbandKind.SERVER_PROOF);
  const fixedPart = withGrant ? SERVER_PROOF_GRANT_HEADER_LENGTH : SERVER_PROOF_LENGTH;
  const bytes = concat(head, await stream.readExactly(fixedPart - INBAND_HEADER_LENGTH));
  return withGrant ? concat(bytes, await stream.readExactly(serverProofGrantLength(bytes))) : bytes;
}

/** A server that answered our CLIENT_HELLO with a prelude frame: a REJECT (OVERLOADED, at a limit). */
async function earlyRefusal(stream: HandshakeStream, head: Uint8Array): Promise<TransportError> {
  const more = await stream.readExactly(PRELUDE_HEADER_LENGTH - INBAND_HEADER_LENGTH);
  const header = concat(head, more);
  const total = preludeFrameLength(header);
  const frame = decodePrelude(
    total === PRELUDE_HEADER_LENGTH
      ? header
      : concat(header, await stream.readExactly(total - header.length)),
  );
  if (frame.kind === 'REJECT') return rejectionError(frame.reason, frame.message);
  return transportError('HANDSHAKE_FAILED', `server sent ${frame.kind} instead of its in-band proof`);
}

function refused(refusal: ServerRefusal, message: string): TransportError {
  return transportError('UNAUTHENTICATED', `refusing the server (${refusal}): ${message}`, {
    remoteCode: refusal,
  });
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

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}
