/**
 * Connections over a MessagePort (a `worker_threads` MessageChannel, a Worker's `parentPort`, a
 * browser Worker): a {@link PortDuplex}, then the in-band key handshake (docs/PROTOCOL.md 2.2, origin
 * {@link PORT_ORIGIN}) and the prelude, with identities as over TLS; or, insecure, the prelude alone,
 * as on TCP. The dialing side is the client, the accepting side the server. A port carries one
 * connection: when it ends, the port is closed.
 */
import type { AuthorizedKeyInput, AuthorizedKeys } from '../../auth/index.js';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import { type ConnectionConfig, resolveConfig } from './config.js';
import type { Connection } from './connection.js';
import { acceptInband, dialInband, type Ed25519Signer } from './inband.js';
import { PortDuplex } from './message-port.js';
import { PORT_ORIGIN, type PortLike } from './port-link.js';

export { PORT_ORIGIN };

import { toAuthorizedKeys } from './authorized-keys-option.js';
import { clientPrelude, type Negotiated, serverAccept } from './prelude-exchange.js';

/** Settings shared by both sides. An invalid value: INVALID_CONFIG. */
export type PortOptions = Partial<Pick<ConnectionConfig, 'handshakeTimeoutMs' | 'portWindowBytes'>>;

export interface PortDialOptions extends PortOptions {
  /** Our key (an Identity): we prove it to the server. */
  signer: Ed25519Signer;
  /** The server's key we pin (32 bytes or base64url text). */
  serverKey: string | Uint8Array;
  /** A grant (signGrant) for servers that trust its admin. */
  grant?: string | Uint8Array;
}

export interface PortAcceptOptions extends PortOptions {
  /** Our key (an Identity): we prove it to the client. */
  signer: Ed25519Signer;
  /** Who may connect, judged as a TLS client is (keys, names, `@admin` grants). */
  authorizedKeys: AuthorizedKeys | readonly AuthorizedKeyInput[];
}

/**
 * The client's side over `port`, keyed: proves `signer`'s key, pins `serverKey`. Resolves after
 * ACCEPT with `peer` the server's identity; rejects as dialInband does (UNAUTHENTICATED with
 * `remoteCode` SERVER_KEY_MISMATCH, UNKNOWN_KEY...; HANDSHAKE_TIMEOUT, HANDSHAKE_FAILED,
 * CONNECTION_LOST, INVALID_CONFIG). On failure the port is closed.
 */
export function dialPort(port: PortLike, options: PortDialOptions): Promise<Connection> {
  const socket = duplexOn(port, options);
  if (!socket.ok) return Promise.reject(socket.error);
  const { signer, serverKey, grant } = options;
  return dialInband(socket.duplex, {
    signer,
    serverKey,
    origin: PORT_ORIGIN,
    timeoutMs: socket.config.handshakeTimeoutMs,
    ...(grant === undefined ? {} : { grant }),
  });
}

/**
 * The server's side of {@link dialPort}: proves `signer`'s key, judges the client's by
 * `authorizedKeys` (REJECT with its reason, as over TLS). Resolves with `peer` the client's identity
 * and name; rejects as acceptInband does (UNAUTHENTICATED with `remoteCode` the reason sent, and the
 * others as {@link dialPort}). On failure the port is closed (after a REJECT: once the client closes,
 * or after 1 s).
 */
export function acceptPort(port: PortLike, options: PortAcceptOptions): Promise<Connection> {
  let keys: AuthorizedKeys;
  try {
    keys = toAuthorizedKeys(options.authorizedKeys, 'acceptPort');
  } catch (err) {
    port.close?.();
    return Promise.reject(err);
  }
  const socket = duplexOn(port, options);
  if (!socket.ok) return Promise.reject(socket.error);
  return acceptInband(socket.duplex, {
    signer: options.signer,
    authorizedKeys: keys,
    origin: PORT_ORIGIN,
    timeoutMs: socket.config.handshakeTimeoutMs,
  });
}

/**
 * The client's side over `port`, without identities: `peer` is undefined on both sides, like TCP.
 * Use it only between threads you trust (a port is not a network, but nothing proves who holds its
 * other end). Resolves after ACCEPT; rejects HANDSHAKE_TIMEOUT (no answer within
 * `handshakeTimeoutMs`), HANDSHAKE_FAILED, CONNECTION_LIMIT, CONNECTION_LOST (the port closed),
 * INVALID_CONFIG. On failure the port is closed.
 */
export function dialPortInsecure(port: PortLike, options: PortOptions = {}): Promise<Connection> {
  return handshake(port, options, 'client', (socket) => clientPrelude(socket));
}

/** The server's side of {@link dialPortInsecure}: ACCEPT, then the client's HELLO. Rejects likewise. */
export function acceptPortInsecure(port: PortLike, options: PortOptions = {}): Promise<Connection> {
  return handshake(port, options, 'server', (socket) => serverAccept(socket));
}

/** A PortDuplex on `port`, and `exchange` run over it within `handshakeTimeoutMs`. */
function handshake(
  port: PortLike,
  options: PortOptions,
  role: 'client' | 'server',
  exchange: (socket: PortDuplex) => Promise<Negotiated>,
): Promise<Connection> {
  const made = duplexOn(port, options);
  if (!made.ok) return Promise.reject(made.error);
  const { duplex: socket, config } = made;
  return withTimeout(socket, config.handshakeTimeoutMs, exchange(socket)).then(
    (negotiated): Connection => ({
      socket,
      role,
      peer: undefined,
      version: negotiated.version,
      codec: negotiated.codec,
      resumed: false,
      remoteAddress: undefined,
    }),
  );
}

/** A PortDuplex on `port` with `options` resolved, or the INVALID_CONFIG error (the port closed). */
function duplexOn(
  port: PortLike,
  options: PortOptions,
): { ok: true; duplex: PortDuplex; config: ConnectionConfig } | { ok: false; error: unknown } {
  try {
    const config = resolveConfig(pick(options));
    return { ok: true, duplex: new PortDuplex(port, config.portWindowBytes), config };
  } catch (error) {
    port.close?.();
    return { ok: false, error };
  }
}

/** Only the port's fields: resolveConfig ignores others, but a signer or keys need not be walked. */
function pick(options: PortOptions): PortOptions {
  const { handshakeTimeoutMs, portWindowBytes } = options;
  return {
    ...(handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs }),
    ...(portWindowBytes === undefined ? {} : { portWindowBytes }),
  };
}

/**
 * `work`, or HANDSHAKE_TIMEOUT after `ms` (0: no limit). On any failure `socket` is destroyed and the
 * error is a TransportError.
 */
function withTimeout<T>(socket: PortDuplex, ms: number, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    if (ms > 0) {
      timer = setTimeout(
        () => reject(transportError('HANDSHAKE_TIMEOUT', `MessagePort handshake took over ${ms} ms`)),
        ms,
      );
    }
  });
  return Promise.race([work, timeout]).then(
    (value) => {
      clearTimeout(timer);
      return value;
    },
    (err: unknown) => {
      clearTimeout(timer);
      socket.destroy();
      throw asTransportError(err);
    },
  );
}

function asTransportError(err: unknown): TransportError {
  return isTransportError(err) ? err : transportError('INTERNAL_ERROR', String(err), { cause: err });
}
