/**
 * listenTls: mutual TLS 1.3 with certificates made from our identity, clients judged by their
 * certificate key against the authorized keys, then the prelude.
 */
import { constants, randomBytes } from 'node:crypto';
import tls from 'node:tls';
import type { AuthorizedKeyInput, AuthorizedKeys, CertificateMaterial, Identity } from '../../auth/index.js';
import { transportError } from '../errors.js';
import { toAuthorizedKeys } from './authorized-keys-option.js';
import { type ConnectionConfig, resolveConfig } from './config.js';
import type { Connection, Listener, ListenHooks } from './connection.js';
import { Credentials } from './credentials.js';
import { judgeClient } from './judge.js';
import { type Handshake, type Secured, SecureStepError, startListener } from './listener.js';

/** TLS is 1.3 only: no downgrade, and the client cannot see our certificate before choosing to speak. */
export const TLS_VERSION: tls.SecureVersion = 'TLSv1.3';
/** Session id context: tickets from other applications on the same key can never resume here. */
export const SESSION_ID_CONTEXT = 'rxchan/1';

export interface TlsListenOptions extends Partial<ConnectionConfig>, ListenHooks {
  /** Our identity: our certificates are made from (and signed by) its key. */
  identity: Identity;
  /** Who may connect: an AuthorizedKeys (e.g. loaded from a file, reloadable) or a list in code. */
  authorizedKeys: AuthorizedKeys | readonly AuthorizedKeyInput[];
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 picks a free one (see Listener.port). Default 0. */
  port?: number;
  /** Called after our certificate was renewed (new handshakes use it). For logs and tests; must not throw. */
  onCertificateRenewed?: (material: CertificateMaterial) => void;
  /**
   * A grant (signGrant) to carry in our certificate, so that dialers that require one (cluster refs:
   * docs/CLUSTER.md section 1) can check it in the handshake.
   */
  grant?: Uint8Array;
}

/**
 * Listens for mutual TLS 1.3 connections. Each client is judged after TLS (judge.ts: certificate,
 * authorized key or grant) and gets ACCEPT or REJECT; only accepted connections whose HELLO was read
 * reach `onConnection`. Our certificate is renewed before it expires and new handshakes use the new
 * one. Rejects with TransportError INVALID_CONFIG (bad options) or the listen error (EADDRINUSE...).
 */
export async function listenTls(
  options: TlsListenOptions,
  onConnection: (connection: Connection) => void,
): Promise<Listener> {
  const config = resolveConfig(options);
  const keys = toAuthorizedKeys(options.authorizedKeys, 'listenTls');
  const creds = new Credentials(options.identity, {
    validityMs: config.certificateValidityMs,
    renewBeforeMs: config.certificateRenewBeforeMs,
    ...(options.grant ? { grant: options.grant } : {}),
  });
  let context = serverContext(await creds.current(), config);
  creds.startRenewal(
    (material) => {
      context = serverContext(material, config);
      try {
        options.onCertificateRenewed?.(material);
      } catch {
        // a logging hook must not stop renewals
      }
    },
    (err) => process.emitWarning(`rxchan: certificate renewal failed, retrying: ${String(err)}`),
  );

  const secure = async (hs: Handshake): Promise<Secured> => {
    // The timer normally renews in time; but timers stop while a machine sleeps, so also renew here
    // when the certificate is due (this handshake still uses the current one).
    if (creds.isStale()) creds.renew().catch(() => undefined);
    // We wrap each raw socket ourselves (rather than use tls.Server) so the raw connection is counted
    // and timed from its first moment; 'secure' is the server-side TLSSocket's handshake-done event.
    const socket = new tls.TLSSocket(hs.raw, {
      isServer: true,
      secureContext: context,
      requestCert: true,
      // We verify keys ourselves (judge.ts); OpenSSL would reject every self-signed certificate.
      rejectUnauthorized: false,
    });
    hs.socket = socket;
    await tlsEstablished(socket);
    const verdict = judgeClient(socket.getPeerX509Certificate(), keys, {
      clockToleranceMs: config.clockToleranceMs,
    });
    return { socket, verdict, resumed: socket.isSessionReused() };
  };

  try {
    return await startListener({
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      config,
      secure,
      clientSpeaksFirst: true,
      refusal: () => INTERNAL_ERROR_ALERT,
      onConnection,
      ...(options.onRefused ? { onRefused: options.onRefused } : {}),
      onClose: () => creds.stopRenewal(),
    });
  } catch (err) {
    creds.stopRenewal();
    throw err;
  }
}

/**
 * A fatal TLS alert `internal_error` (80) as a plaintext record: how a listener refuses a connection
 * before TLS (at a handshake limit). TLS has no "busy" alert; internal_error is the one that says the
 * server cannot go on for reasons unrelated to the client. A dialer that reads it before the
 * handshake completes fails CONNECTION_LIMIT (tls-dial.ts).
 */
const INTERNAL_ERROR_ALERT = Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 80);

/** Resolves when the server side of TLS is established; rejects with SecureStepError. */
function tlsEstablished(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      socket.off('secure', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onSecure = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      const error = transportError(
        'HANDSHAKE_FAILED',
        `TLS handshake failed: ${err.message.split('\n')[0]}`,
        {
          cause: err,
        },
      );
      reject(new SecureStepError('TLS_FAILED', error));
    };
    const onClose = () => {
      cleanup();
      reject(
        new SecureStepError(
          'CLOSED',
          transportError('CONNECTION_LOST', 'client closed during the TLS handshake'),
        ),
      );
    };
    // Kept for the socket's whole life: an error after the handshake is the session's business (it
    // has its own listener), but must never be an unhandled 'error' event.
    socket.on('error', () => undefined);
    socket.once('secure', onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/**
 * The server's secure context for one certificate. Each gets fresh ticket keys, so tickets are bound
 * to the certificate period and renewing also rotates them (old tickets then fall back to a full
 * handshake). With resumption off, no tickets are issued at all.
 */
function serverContext(material: CertificateMaterial, config: ConnectionConfig): tls.SecureContext {
  const resumption = config.sessionTicketLifetimeMs > 0;
  return tls.createSecureContext({
    key: material.keyPem,
    cert: material.certPem,
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    sessionIdContext: SESSION_ID_CONTEXT,
    ...(resumption
      ? { ticketKeys: randomBytes(48), sessionTimeout: Math.floor(config.sessionTicketLifetimeMs / 1000) }
      : { secureOptions: constants.SSL_OP_NO_TICKET }),
  });
}
