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
import { type AuthorizedKeys, peerIdentity } from '../../auth/index.js';
import type { Connection } from './connection.js';
import { type InbandDialOptions, inbandClient } from './inband-client.js';
import type { Ed25519Signer, Ed25519Verify } from './inband-common.js';
import { inbandServer, inbandVerdictOver } from './inband-server.js';
import { judgeKey } from './judge.js';
import type { Verdict } from './listener.js';
import { nextTurn } from './prelude-exchange.js';
import { duplexStream } from './read-exactly.js';

export type { InbandDialOptions } from './inband-client.js';
export type { Ed25519Signer, Ed25519Verify, SigningIdentity } from './inband-common.js';

export interface InbandAcceptOptions {
  /** Our key: we sign the server transcript with it. */
  signer: Ed25519Signer;
  /** Who may connect (keys, and `@admin` keys whose grants are honoured). */
  authorizedKeys: AuthorizedKeys;
  /** The origin this connection was made to (the client signs the one it dialled: they must be equal). */
  origin: string;
  /** A grant (signGrant) for our own key, shown in our proof for clients that require one (1..256 bytes). */
  grant?: Uint8Array;
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
  /** How signatures are checked. Default: tweetnacl. */
  verify?: Ed25519Verify;
}

/**
 * The client's side over a Node stream ({@link inbandClient}): proves our key, checks the server's,
 * then the prelude. Resolves after the server's ACCEPT with a Connection (role 'client', peer the
 * server's key). Rejects with TransportError, destroying `socket`:
 * - UNAUTHENTICATED, `remoteCode` SERVER_KEY_MISMATCH (the server's key is not the pinned one),
 *   SERVER_BAD_SIGNATURE (its signature does not verify: not that key's holder, or another origin),
 *   SERVER_NO_GRANT (`serverGrant` refused its grant or its lack of one), or the REJECT reason (UNKNOWN_KEY, BAD_CERTIFICATE: our signature did not verify, EXPIRED);
 * - CONNECTION_LIMIT (REJECT OVERLOADED), HANDSHAKE_FAILED (malformed message, no common version),
 *   HANDSHAKE_TIMEOUT, CONNECTION_LOST, INVALID_CONFIG (a bad pin, grant or origin).
 */
export function dialInband(socket: Duplex, options: InbandDialOptions): Promise<Connection> {
  return inbandClient(duplexStream(socket), options, (key) => peerIdentity(key)).then((result) => ({
    socket,
    role: 'client',
    peer: result.server,
    version: result.version,
    codec: result.codec,
    resumed: false,
    remoteAddress: options.remoteAddress,
  }));
}

/**
 * The server's side ({@link inbandServer}, judging by {@link judgeKey}): proves our key, reads and
 * judges the client's proof, then ACCEPT (and the client's HELLO) or REJECT. Resolves with a
 * Connection (role 'server', peer the client's key and the name the authorized keys or its grant give
 * it). Rejects with TransportError, destroying `socket` (after a REJECT: once the client closes, or
 * after `rejectLingerMs`): UNAUTHENTICATED (`remoteCode` the REJECT reason sent: UNKNOWN_KEY,
 * BAD_CERTIFICATE for a signature that does not verify, EXPIRED), HANDSHAKE_FAILED (malformed message,
 * no common version), HANDSHAKE_TIMEOUT, CONNECTION_LOST, INVALID_CONFIG (a bad origin).
 */
export function acceptInband(socket: Duplex, options: InbandAcceptOptions): Promise<Connection> {
  return inbandServer(socket, duplexStream(socket), { ...options, turn: nextTurn }, (key, grant) =>
    judgeKey(key, grant, options.authorizedKeys),
  ).then((result) => ({
    socket,
    role: 'server',
    peer: result.peer,
    version: result.version,
    codec: result.codec,
    resumed: false,
    remoteAddress: options.remoteAddress,
  }));
}

/**
 * The server's handshake up to its verdict ({@link inbandVerdictOver}, judging by {@link judgeKey}),
 * for listeners that apply their own limits before the prelude. Writes nothing after SERVER_PROOF.
 * Rejects with TransportError HANDSHAKE_FAILED (malformed) or CONNECTION_LOST.
 */
export function inbandVerdict(
  socket: Duplex,
  options: {
    signer: Ed25519Signer;
    authorizedKeys: AuthorizedKeys;
    origin: string;
    verify?: Ed25519Verify;
    grant?: Uint8Array;
  },
): Promise<Verdict> {
  return inbandVerdictOver(duplexStream(socket), options, (key, grant) =>
    judgeKey(key, grant, options.authorizedKeys),
  );
}
