/**
 * Connections over a MessagePort (a `worker_threads` MessageChannel, a Worker's `parentPort`, a
 * browser Worker): a {@link PortDuplex}, then the prelude of docs/PROTOCOL.md section 2, as on TCP.
 * The dialing side is the client (it writes HELLO), the accepting side the server. A port carries one
 * connection: when it ends, the port is closed.
 */
import { isTransportError, type TransportError, transportError } from '../errors.js';
import { type ConnectionConfig, resolveConfig } from './config.js';
import type { Connection } from './connection.js';
import { PortDuplex } from './message-port.js';
import type { PortLike } from './port-link.js';
import { clientPrelude, type Negotiated, serverAccept } from './prelude-exchange.js';

/** Settings shared by both sides. An invalid value: INVALID_CONFIG. */
export type PortOptions = Partial<Pick<ConnectionConfig, 'handshakeTimeoutMs' | 'portWindowBytes'>>;

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

/**
 * A PortDuplex on `port`, and `exchange` run over it within `handshakeTimeoutMs`. Exported for the
 * authenticated variants, which run their own exchange.
 */
export function handshake(
  port: PortLike,
  options: PortOptions,
  role: 'client' | 'server',
  exchange: (socket: PortDuplex) => Promise<Negotiated>,
): Promise<Connection> {
  let config: ConnectionConfig;
  try {
    config = resolveConfig(options);
  } catch (err) {
    port.close?.();
    return Promise.reject(err);
  }
  const socket = new PortDuplex(port, config.portWindowBytes);
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

/**
 * `work`, or HANDSHAKE_TIMEOUT after `ms` (0: no limit). On any failure `socket` is destroyed and the
 * error is a TransportError.
 */
export function withTimeout<T>(socket: PortDuplex, ms: number, work: Promise<T>): Promise<T> {
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
