/**
 * The listening machinery shared by TLS and TCP: a net.Server whose connections go through a
 * "secure" step (TLS and judging the client, or nothing for TCP) and then the server's prelude, under
 * one handshake deadline and a cap on handshakes in progress. Only connections that finish the
 * prelude reach `onConnection`.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { PeerIdentity } from '../../auth/index.js';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import type { ConnectionConfig } from './config.js';
import {
  type Connection,
  type Listener,
  type ListenHooks,
  type RefusedReason,
  remoteAddressOf,
  reportUnhandledError,
} from './connection.js';
import { RejectReason, type RejectReasonName } from './prelude.js';
import { serverAccept, serverReject } from './prelude-exchange.js';

/** What the secure step decides about a client. */
export type Verdict =
  | { readonly ok: true; readonly peer: PeerIdentity | undefined }
  | {
      readonly ok: false;
      readonly reason: RejectReasonName;
      readonly message: string;
      readonly peer?: PeerIdentity;
    };

/** The result of the secure step: the stream to speak the prelude on, and the verdict. */
export interface Secured {
  readonly socket: Duplex;
  readonly verdict: Verdict;
  readonly resumed: boolean;
}

/** One connection in handshake; the secure step sets `socket` as soon as it wraps the raw socket. */
export interface Handshake {
  readonly raw: net.Socket;
  socket: Duplex;
}

/** A failure of the secure step, with the refused reason to report. */
export class SecureStepError extends Error {
  constructor(
    readonly reason: RefusedReason,
    readonly error: TransportError,
    readonly peer?: PeerIdentity,
    /** True when a REJECT was written (the socket then closes on its own, after the linger). */
    readonly rejected = false,
  ) {
    super(error.message, { cause: error });
  }
}

export interface ListenerSpec extends ListenHooks {
  host: string;
  port: number;
  config: ConnectionConfig;
  /** TLS (or nothing) and the verdict. Rejects with SecureStepError; must not throw synchronously. */
  secure: (handshake: Handshake) => Promise<Secured>;
  onConnection: (connection: Connection) => void;
  /** Called once when the listener closes (stop timers, watchers). */
  onClose?: () => void;
}

/** Starts listening. Rejects with the listen error (EADDRINUSE, ...). */
export async function startListener(spec: ListenerSpec): Promise<Listener> {
  const { config } = spec;
  const pending = new Set<Handshake>();
  const established = new Set<Connection>();
  let accepting = 0; // ACCEPT written, HELLO not read yet: holds a connection slot
  let closed = false;

  const refuse = (reason: RefusedReason, error: TransportError, socket: Duplex, peer?: PeerIdentity) => {
    if (!spec.onRefused) return;
    try {
      spec.onRefused({ reason, error, remoteAddress: remoteAddressOf(socket as net.Socket), peer });
    } catch (err) {
      reportUnhandledError(err);
    }
  };

  const handle = async (hs: Handshake): Promise<void> => {
    const secured = await spec.secure(hs);
    const { socket, verdict } = secured;
    if (!verdict.ok) {
      serverReject(socket, RejectReason[verdict.reason], verdict.message, config.rejectLingerMs);
      const code = verdict.reason === 'OVERLOADED' ? 'CONNECTION_LIMIT' : 'UNAUTHENTICATED';
      throw new SecureStepError(
        verdict.reason,
        transportError(code, `rejected client (${verdict.reason}): ${verdict.message}`, {
          remoteCode: verdict.reason,
        }),
        verdict.peer,
        true,
      );
    }
    if (config.maxConnections > 0 && established.size + accepting >= config.maxConnections) {
      const message = `at maxConnections (${config.maxConnections})`;
      serverReject(socket, RejectReason.OVERLOADED, message, config.rejectLingerMs);
      throw new SecureStepError(
        'OVERLOADED',
        transportError('CONNECTION_LIMIT', `rejected client (OVERLOADED): ${message}`, {
          remoteCode: 'OVERLOADED',
        }),
        verdict.peer,
        true,
      );
    }
    accepting++;
    let negotiated: Awaited<ReturnType<typeof serverAccept>>;
    try {
      negotiated = await serverAccept(socket);
    } catch (err) {
      const error = isTransportError(err)
        ? err
        : transportError('HANDSHAKE_FAILED', String(err), { cause: err });
      throw new SecureStepError(error.code === 'CONNECTION_LOST' ? 'CLOSED' : 'PRELUDE_FAILED', error);
    } finally {
      accepting--;
    }
    if (socket.destroyed)
      throw new SecureStepError('CLOSED', transportError('CONNECTION_LOST', 'client left'));
    const connection: Connection = {
      socket,
      role: 'server',
      peer: verdict.peer,
      version: negotiated.version,
      codec: negotiated.codec,
      resumed: secured.resumed,
      remoteAddress: remoteAddressOf(hs.raw),
    };
    established.add(connection);
    socket.once('close', () => established.delete(connection));
    finish(hs);
    try {
      spec.onConnection(connection);
    } catch (err) {
      reportUnhandledError(err);
    }
  };

  const timers = new Map<Handshake, NodeJS.Timeout>();
  const finish = (hs: Handshake) => {
    clearTimeout(timers.get(hs));
    timers.delete(hs);
    pending.delete(hs);
  };

  const server = net.createServer({ noDelay: true }, (raw) => {
    // The raw socket's own errors surface through the TLS socket (or are the TCP socket's); a listener
    // here keeps one from ever being unhandled.
    raw.on('error', () => undefined);
    if (closed) {
      raw.destroy();
      return;
    }
    if (config.maxHandshakes > 0 && pending.size >= config.maxHandshakes) {
      raw.destroy();
      refuse(
        'HANDSHAKE_LIMIT',
        transportError('CONNECTION_LIMIT', `at maxHandshakes (${config.maxHandshakes})`),
        raw,
      );
      return;
    }
    const hs: Handshake = { raw, socket: raw };
    pending.add(hs);
    if (config.handshakeTimeoutMs > 0) {
      const timer = setTimeout(() => {
        if (!pending.has(hs)) return;
        finish(hs);
        hs.socket.destroy();
        raw.destroy();
        refuse(
          'HANDSHAKE_TIMEOUT',
          transportError(
            'HANDSHAKE_TIMEOUT',
            `handshake not finished within ${config.handshakeTimeoutMs} ms`,
          ),
          raw,
        );
      }, config.handshakeTimeoutMs);
      timers.set(hs, timer);
    }
    handle(hs).catch((err: unknown) => {
      if (!pending.has(hs)) return; // already timed out (and reported)
      finish(hs);
      const failure =
        err instanceof SecureStepError
          ? err
          : new SecureStepError('TLS_FAILED', transportError('INTERNAL_ERROR', String(err), { cause: err }));
      // A REJECT lingers on its own (serverReject); everything else is torn down now.
      if (!failure.rejected) {
        hs.socket.destroy();
        raw.destroy();
      }
      refuse(failure.reason, failure.error, raw, failure.peer);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.port, spec.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, a server error (rare: EMFILE on accept) must not crash the process.
  server.on('error', () => undefined);
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    host: spec.host,
    get handshakes() {
      return pending.size;
    },
    get connections() {
      return established.size;
    },
    async close(options) {
      if (!closed) {
        closed = true;
        spec.onClose?.();
      }
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const hs of [...pending]) {
        finish(hs);
        hs.socket.destroy();
        hs.raw.destroy();
      }
      if (options?.destroyConnections) {
        for (const c of [...established]) c.socket.destroy();
        await serverClosed;
      }
    },
  };
}
