/**
 * dialTls: mutual TLS 1.3 to a server whose key we pin (or know), then the prelude.
 */
import tls from 'node:tls';
import {
  type CertificateFacts,
  type CertificateMaterial,
  checkCertificate,
  type Identity,
  isAuthError,
  KnownHosts,
  type PeerIdentity,
  peerIdentity,
  peerOf,
} from '../../auth/index.js';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import { type ConnectionConfig, resolveConfig } from './config.js';
import { type Connection, remoteAddressOf } from './connection.js';
import { sharedCredentials } from './credentials.js';
import { guardDial } from './dial-guard.js';
import { clientPrelude } from './prelude-exchange.js';
import { ServerRefusal, serverTrust } from './server-trust.js';
import { defaultSessionStore, SessionStore } from './session-store.js';
import { TLS_VERSION } from './tls-listen.js';

export interface TlsDialOptions extends Partial<ConnectionConfig> {
  /** Our identity: our client certificate is made from (and signed by) its key. */
  identity: Identity;
  host: string;
  port: number;
  /** The local address to dial from (a machine with several). Default: the system's choice. */
  localAddress?: string;
  /** The server key(s) we accept (bytes or base64url text). Needed unless `knownHosts` is given. */
  serverKey?: Uint8Array | string | ReadonlyArray<Uint8Array | string>;
  /** A known-hosts file (path) or list; used when `serverKey` is not given. */
  knownHosts?: string | KnownHosts;
  /** With `knownHosts`: trust an unknown address's key and record it. Default false. */
  trustOnFirstUse?: boolean;
  /**
   * Where session tickets are kept for resumption; false disables resumption. Default: a store shared
   * by the process ({@link defaultSessionStore}).
   */
  session?: SessionStore | false;
  /** A grant (signGrant) to carry in our certificate, for servers that trust its admin. */
  grant?: Uint8Array;
  /**
   * Require the server to show a grant: called with the grant its certificate carries (undefined for
   * none) and its key, after the key was found trusted; a string refuses the server (UNAUTHENTICATED,
   * `remoteCode` SERVER_NO_GRANT) before anything of the protocol is sent (TLS 1.3 has already sent our
   * certificate by then: a public key and our grant, no secret). Must not throw.
   * Session resumption is off with it (a resumed session shows no certificate).
   */
  serverGrant?: (grant: Uint8Array | undefined, serverKey: Uint8Array) => string | undefined;
}

/**
 * Connects, checks the server's key, and runs the prelude. Resolves only after the server's ACCEPT.
 * Rejects with TransportError:
 * - UNAUTHENTICATED, `remoteCode` the reason: the server rejected us (UNKNOWN_KEY, NO_CERTIFICATE,
 *   BAD_CERTIFICATE, EXPIRED) or we refused the server (SERVER_KEY_MISMATCH, SERVER_UNKNOWN,
 *   SERVER_BAD_CERTIFICATE; then nothing of the prelude is read);
 * - CONNECTION_LIMIT, `remoteCode` OVERLOADED, message "server busy: ...": the server is at a limit,
 *   whether it said so with REJECT OVERLOADED after TLS or with a TLS internal_error alert before it;
 * - HANDSHAKE_FAILED (TLS failed, VERSION, malformed prelude), HANDSHAKE_TIMEOUT, INVALID_CONFIG;
 * - CONNECTION_LOST: refused (ECONNREFUSED), or reset or closed; closed before TLS completed says so
 *   (a busy server out of room even for a refusal, or not an rxchan listener).
 */
export async function dialTls(options: TlsDialOptions): Promise<Connection> {
  const config = resolveConfig(options);
  const { identity, host, port } = options;
  const knownHosts =
    typeof options.knownHosts === 'string' ? await KnownHosts.load(options.knownHosts) : options.knownHosts;
  const trust = serverTrust({
    host,
    port,
    ...(options.serverKey !== undefined ? { serverKey: options.serverKey } : {}),
    ...(knownHosts ? { knownHosts } : {}),
    trustOnFirstUse: options.trustOnFirstUse === true,
  });
  const creds = sharedCredentials(identity, {
    validityMs: config.certificateValidityMs,
    renewBeforeMs: config.certificateRenewBeforeMs,
    ...(options.grant ? { grant: options.grant } : {}),
  });
  // Without an await when the certificate is fresh: everything before tls.connect delays the handshake.
  const material = creds.isStale() ? await creds.current() : creds.latest!;
  const store =
    options.session === false || config.sessionTicketLifetimeMs === 0 || options.serverGrant
      ? undefined
      : (options.session ?? defaultSessionStore);
  const storeKey = SessionStore.keyFor(identity, host, port);
  let stored = store?.get(storeKey);
  if (stored && !trust.trusts(stored.serverKey)) {
    // The pin changed since the ticket was issued: the ticket vouches for a server we no longer trust.
    store!.delete(storeKey);
    stored = undefined;
  }

  return new Promise<Connection>((resolve, reject) => {
    let settled = false;
    let accepted = false;
    let pendingTicket: Buffer | undefined;
    let serverKey: Uint8Array | undefined;
    let serverNotAfter = Number.POSITIVE_INFINITY;

    const socket = tls.connect({
      host,
      port,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      secureContext: clientContext(material),
      minVersion: TLS_VERSION,
      maxVersion: TLS_VERSION,
      // We verify the server's key ourselves (below); there is no CA to check a chain against.
      rejectUnauthorized: false,
      ...(stored ? { session: stored.ticket } : {}),
    });
    socket.setNoDelay(true);
    // Prepared while the server works on our ClientHello (Node sends it before this listener runs):
    // the socket's address, and for a resumption the server identity the ticket stands for.
    let remoteAddress: string | undefined;
    let resumedPeer: PeerIdentity | undefined;
    socket.once('connect', () => {
      tcpConnected = true;
      try {
        remoteAddress = remoteAddressOf(socket);
        if (stored) resumedPeer = peerIdentity(stored.serverKey);
      } catch {
        // Computed again when needed; nothing may escape a socket event handler.
      }
    });

    const saveTicket = (ticket: Buffer) => {
      if (!store || !serverKey) return;
      const expiresAt = Math.min(
        Date.now() + config.sessionTicketLifetimeMs,
        material.notAfter.getTime(),
        serverNotAfter,
      );
      store.set(storeKey, { ticket, serverKey: Uint8Array.from(serverKey), expiresAt });
    };
    const fail = (error: TransportError) => {
      if (settled) return;
      settled = true;
      guard.disarm();
      store?.delete(storeKey);
      socket.destroy();
      reject(error);
    };
    let tcpConnected = false;
    let tlsDone = false;
    const guard = guardDial(socket, host, port, config.handshakeTimeoutMs, (error) =>
      fail(tcpConnected && !tlsDone ? duringTls(error, host, port) : error),
    );

    if (store) {
      // Only with a store: listening makes Node serialize every ticket the server sends.
      socket.on('session', (ticket: Buffer) => {
        // Tickets arrive before the server has judged us; keep them only once we are accepted.
        if (accepted) saveTicket(ticket);
        else pendingTicket = ticket;
      });
    }

    // After the server is trusted: HELLO, then the connection once ACCEPT is read.
    const hello = (facts: CertificateFacts | undefined) => {
      if (settled) return;
      const answer = clientPrelude(socket); // writes HELLO now
      // While the server answers.
      const peer = facts ? peerOf(facts) : (resumedPeer ?? peerIdentity(serverKey!));
      answer
        .then((negotiated) => {
          if (settled) return;
          accepted = true;
          if (pendingTicket) saveTicket(pendingTicket);
          settled = true;
          guard.disarm();
          resolve({
            socket,
            role: 'client',
            peer,
            version: negotiated.version,
            codec: negotiated.codec,
            resumed: socket.isSessionReused(),
            remoteAddress: remoteAddress ?? remoteAddressOf(socket),
          });
        })
        .catch((err: unknown) => fail(asTransportError(err)));
    };

    // Node runs this before TLS sends our last flight (our certificate and Finished) and sends it with
    // the first write, HELLO. So the server is checked here, synchronously: a server we refuse never
    // receives our certificate, and the check's cost delays everything after it (hence the cache in
    // checkCertificate).
    const onSecureConnect = () => {
      tlsDone = true;
      let facts: CertificateFacts | undefined;
      const cert = socket.getPeerX509Certificate();
      if (cert) {
        try {
          facts = checkCertificate(cert, Date.now(), config.clockToleranceMs);
        } catch (err) {
          fail(
            refused(ServerRefusal.SERVER_BAD_CERTIFICATE, isAuthError(err) ? err.message : String(err), err),
          );
          return;
        }
        serverKey = facts.publicKey; // shared with the cache: read only, copied where it is kept
        serverNotAfter = facts.notAfter;
      } else if (socket.isSessionReused() && stored) {
        // Node does not show the certificate on a resumed session. Only the server that issued our
        // ticket can complete a resumption with it, and we verified that server's key back then.
        serverKey = stored.serverKey;
        serverNotAfter = stored.expiresAt;
      } else {
        fail(refused(ServerRefusal.SERVER_BAD_CERTIFICATE, 'server presented no certificate'));
        return;
      }
      const key = serverKey;
      // The key is trusted: a server grant, when required, is checked next, still before we speak.
      const trusted = () => {
        const problem = options.serverGrant?.(facts?.grant, key);
        if (problem === undefined) hello(facts);
        else fail(refused(ServerRefusal.SERVER_NO_GRANT, problem));
      };
      const decided = trust.check(serverKey);
      if (decided instanceof Promise) {
        // Trust on first use: the key is recorded before we say anything.
        decided
          .then((problem) => (problem ? fail(refused(problem.refusal, problem.message)) : trusted()))
          .catch((err: unknown) => fail(asTransportError(err)));
      } else if (decided) fail(refused(decided.refusal, decided.message));
      else trusted();
    };
    socket.once('secureConnect', () => {
      try {
        onSecureConnect();
      } catch (err) {
        fail(asTransportError(err)); // nothing may escape a socket event handler
      }
    });
  });
}

/**
 * A failure between TCP connect and the end of TLS, made clear: a TLS internal_error alert is a
 * listener's "busy" (tls-listen.ts) and fails CONNECTION_LIMIT with `remoteCode` OVERLOADED; a close
 * or reset says what it may mean. Other failures pass unchanged.
 */
function duringTls(error: TransportError, host: string, port: number): TransportError {
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  if (cause?.code === 'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR') {
    return transportError(
      'CONNECTION_LIMIT',
      `server busy: ${host}:${port} refused the connection before TLS (at a handshake limit; try later)`,
      { remoteCode: 'OVERLOADED', cause },
    );
  }
  if (error.code === 'CONNECTION_LOST') {
    return transportError(
      'CONNECTION_LOST',
      `${host}:${port} closed the connection before TLS completed: the server may be busy (at a handshake limit), or is not an rxchan listener`,
      { cause: error.cause ?? error },
    );
  }
  return error;
}

function asTransportError(err: unknown): TransportError {
  return isTransportError(err) ? err : transportError('INTERNAL_ERROR', String(err), { cause: err });
}

function refused(refusal: ServerRefusal, message: string, cause?: unknown): TransportError {
  return transportError('UNAUTHENTICATED', `refusing the server (${refusal}): ${message}`, {
    remoteCode: refusal,
    ...(cause === undefined ? {} : { cause }),
  });
}

// One secure context per certificate: parsing PEM and building an OpenSSL context per dial is waste.
const contexts = new WeakMap<CertificateMaterial, tls.SecureContext>();

function clientContext(material: CertificateMaterial): tls.SecureContext {
  let context = contexts.get(material);
  if (!context) {
    context = tls.createSecureContext({
      key: material.keyPem,
      cert: material.certPem,
      minVersion: TLS_VERSION,
      maxVersion: TLS_VERSION,
    });
    contexts.set(material, context);
  }
  return context;
}
