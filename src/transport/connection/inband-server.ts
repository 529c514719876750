/**
 * The server's half of the in-band key handshake (docs/PROTOCOL.md section 2.2) and then the prelude,
 * over any {@link HandshakeStream}: a Node socket (inband.ts) or a browser byte socket (a page or a
 * Worker serving a MessagePort). How the client's key is judged is the caller's: Node judges it by
 * AuthorizedKeys (judge.ts), a browser by a list (auth/key-list.ts). No Node built-ins.
 */
import type { PeerIdentity } from '../../auth/identity.js';
import { transportError } from '../errors.js';
import type { HandshakeStream } from './byte-reader.js';
import {
  CLIENT_HELLO_LENGTH,
  CLIENT_PROOF_HEADER_LENGTH,
  checkHeader,
  clientProofGrantLength,
  decodeClientHello,
  decodeClientProof,
  encodeServerProof,
  INBAND_HEADER_LENGTH,
  InbandKind,
  randomNonce,
  type TranscriptFields,
  transcript,
} from './inband-codec.js';
import {
  asConfigError,
  checkOrigin,
  checkServerGrant,
  concat,
  DEFAULT_INBAND_TIMEOUT_MS,
  type Ed25519Signer,
  type Ed25519Verify,
  naclVerify,
  withDeadline,
} from './inband-common.js';
import type { Verdict } from './listener.js';
import { RejectReason } from './prelude.js';
import type { Negotiated } from './prelude-client.js';
import { type RejectSocket, serverAcceptOver, serverRejectOn } from './prelude-server.js';

/**
 * The verdict on a client that proved `publicKey` (and showed `grant`, or undefined). Must not throw
 * (a rejection fails the handshake INTERNAL_ERROR).
 */
export type KeyJudge = (publicKey: Uint8Array, grant: Uint8Array | undefined) => Verdict | Promise<Verdict>;

/** What the server's proof needs. */
export interface InbandProofOptions {
  /** Our key: we sign the server transcript with it. */
  signer: Ed25519Signer;
  /** The origin this connection was made to (the client signs the one it dialled: they must be equal). */
  origin: string;
  /** How signatures are checked. Default: tweetnacl. */
  verify?: Ed25519Verify;
  /**
   * A grant (signGrant) for our own key, shown in our proof (SERVER_PROOF_GRANT) and covered by our
   * signature, for clients that require one (cluster members). 1..256 bytes.
   */
  grant?: Uint8Array;
}

export interface InbandServerOptions extends InbandProofOptions {
  /** Deadline for the whole handshake and prelude, ms; 0: none. Default 5000. */
  timeoutMs?: number;
  /** After a REJECT, how long to wait for the client to close before destroying the stream, ms. Default 1000. */
  rejectLingerMs?: number;
  /** Run before reading the client's HELLO (Node's sockets need a turn of the event loop: prelude-exchange.ts). */
  turn?: () => Promise<void>;
}

/** What the server learns: who the client is (its proven key, named by the judge) and what the prelude agreed. */
export interface InbandServerResult extends Negotiated {
  readonly peer: PeerIdentity | undefined;
}

const DEFAULT_LINGER_MS = 1000;

/**
 * The server's side over `stream` (the bytes of `socket`): proves our key, reads and judges the
 * client's proof, then ACCEPT (and the client's HELLO) or REJECT. Resolves after the HELLO; bytes
 * after it stay unread. Rejects with TransportError, destroying `socket` (after a REJECT: once the
 * client closes, or after `rejectLingerMs`): UNAUTHENTICATED (`remoteCode` the REJECT reason sent:
 * UNKNOWN_KEY, BAD_CERTIFICATE for a signature that does not verify, EXPIRED), HANDSHAKE_FAILED
 * (malformed message, no common version), HANDSHAKE_TIMEOUT, CONNECTION_LOST, INVALID_CONFIG (a bad
 * origin, a grant that is empty or over 256 bytes).
 */
export function inbandServer(
  socket: RejectSocket,
  stream: HandshakeStream,
  options: InbandServerOptions,
  judge: KeyJudge,
): Promise<InbandServerResult> {
  try {
    checkOrigin(options.origin);
    if (options.grant !== undefined) checkServerGrant(options.grant);
  } catch (err) {
    stream.destroy();
    return Promise.reject(asConfigError(err));
  }
  let rejectSent = false;
  const run = async (): Promise<InbandServerResult> => {
    const verdict = await inbandVerdictOver(stream, options, judge);
    if (!verdict.ok) {
      const linger = options.rejectLingerMs ?? DEFAULT_LINGER_MS;
      serverRejectOn(socket, RejectReason[verdict.reason], verdict.message, linger);
      rejectSent = true;
      throw transportError('UNAUTHENTICATED', `rejected client (${verdict.reason}): ${verdict.message}`, {
        remoteCode: verdict.reason,
      });
    }
    const negotiated = await serverAcceptOver(stream, options.turn);
    return { peer: verdict.peer, version: negotiated.version, codec: negotiated.codec };
  };
  return withDeadline(stream, run(), options.timeoutMs ?? DEFAULT_INBAND_TIMEOUT_MS, () => rejectSent);
}

/**
 * The server's handshake up to its verdict, for listeners that apply their own limits before the
 * prelude: reads CLIENT_HELLO, writes SERVER_PROOF, reads CLIENT_PROOF and judges it (a signature
 * that does not verify: BAD_CERTIFICATE, with no peer, as nothing was proven). Writes nothing after
 * SERVER_PROOF. Rejects with TransportError HANDSHAKE_FAILED (malformed) or CONNECTION_LOST.
 */
export async function inbandVerdictOver(
  stream: HandshakeStream,
  options: InbandProofOptions,
  judge: KeyJudge,
): Promise<Verdict> {
  const verify = options.verify ?? naclVerify;
  const head = await stream.readExactly(INBAND_HEADER_LENGTH);
  checkHeader(head, InbandKind.CLIENT_HELLO);
  const rest = await stream.readExactly(CLIENT_HELLO_LENGTH - INBAND_HEADER_LENGTH);
  const hello = decodeClientHello(concat(head, rest));
  const serverNonce = randomNonce();
  const serverKey = Uint8Array.from(options.signer.publicKey);
  const grant = options.grant;
  const fields: TranscriptFields = {
    ...hello,
    serverNonce,
    serverKey,
    origin: options.origin,
    serverGrant: grant,
  };
  const signature = await options.signer.sign(transcript('server', fields));
  stream.write(encodeServerProof({ serverNonce, serverKey, signature, grant }));
  const proofHead = await stream.readExactly(CLIENT_PROOF_HEADER_LENGTH);
  const n = clientProofGrantLength(proofHead);
  const proof = decodeClientProof(n === 0 ? proofHead : concat(proofHead, await stream.readExactly(n)));
  if (!verify(transcript('client', fields), proof.signature, hello.clientKey)) {
    return {
      ok: false,
      reason: 'BAD_CERTIFICATE',
      message:
        'the handshake signature does not verify (signed for another origin or nonce, or not by the key shown)',
    };
  }
  return judge(hello.clientKey, proof.grant);
}
