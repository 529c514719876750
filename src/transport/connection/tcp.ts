/**
 * Insecure connections over plain TCP, for tests and demos: the same prelude, no TLS, no identity
 * (`peer` is undefined). Never use across a network you do not control.
 */
import net from 'node:net';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import { type ConnectionConfig, resolveConfig } from './config.js';
import { type Connection, type Listener, type ListenHooks, remoteAddressOf } from './connection.js';
import { guardDial } from './dial-guard.js';
import { startListener } from './listener.js';
import { encodeReject, RejectReason } from './prelude.js';
import { clientPrelude } from './prelude-exchange.js';

export interface TcpListenOptions
  extends Partial<
      Pick<
        ConnectionConfig,
        | 'handshakeTimeoutMs'
        | 'maxHandshakes'
        | 'maxHandshakesPerAddress'
        | 'maxConnections'
        | 'maxConnectionsPerAddress'
        | 'rejectLingerMs'
      >
    >,
    ListenHooks {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
}

/** Listens for plain TCP connections; each gets ACCEPT (or REJECT OVERLOADED), then its HELLO is read. */
export function listenTcp(
  options: TcpListenOptions,
  onConnection: (connection: Connection) => void,
): Promise<Listener> {
  const config = resolveConfig(options);
  return startListener({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    config,
    secure: async (hs) => ({ socket: hs.raw, verdict: { ok: true, peer: undefined }, resumed: false }),
    // The server speaks first here: a refusal is a REJECT, which the client reads as CONNECTION_LIMIT.
    clientSpeaksFirst: false,
    refusal: (message) => encodeReject(RejectReason.OVERLOADED, message),
    onConnection,
    ...(options.onRefused ? { onRefused: options.onRefused } : {}),
  });
}

export interface TcpDialOptions extends Partial<Pick<ConnectionConfig, 'handshakeTimeoutMs'>> {
  host: string;
  port: number;
  /** The local address to dial from. Default: the system's choice. */
  localAddress?: string;
}

/**
 * Connects over plain TCP and runs the prelude; resolves after ACCEPT. Rejects like dialTls, minus the
 * key checks: CONNECTION_LIMIT, HANDSHAKE_FAILED, HANDSHAKE_TIMEOUT, CONNECTION_LOST, INVALID_CONFIG.
 */
export function dialTcp(options: TcpDialOptions): Promise<Connection> {
  const config = resolveConfig(options);
  const { host, port } = options;
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = net.connect({
      host,
      port,
      noDelay: true,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    const fail = (error: TransportError) => {
      if (settled) return;
      settled = true;
      guard.disarm();
      socket.destroy();
      reject(error);
    };
    const guard = guardDial(socket, host, port, config.handshakeTimeoutMs, fail);
    socket.once('connect', () => {
      clientPrelude(socket).then(
        (negotiated) => {
          if (settled) return;
          settled = true;
          guard.disarm();
          resolve({
            socket,
            role: 'client',
            peer: undefined,
            version: negotiated.version,
            codec: negotiated.codec,
            resumed: false,
            remoteAddress: remoteAddressOf(socket),
          });
        },
        (err: unknown) =>
          fail(isTransportError(err) ? err : transportError('INTERNAL_ERROR', String(err), { cause: err })),
      );
    });
  });
}
