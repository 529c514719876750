/**
 * The listening machinery shared by TLS and TCP: a net.Server whose connections go through a
 * "secure" step (TLS and judging the client, or nothing for TCP) and then the server's prelude, under
 * one handshake deadline, caps on handshakes in progress (in all and per source address) and, where
 * the client speaks first, a deadline for its first bytes. Only connections that finish the prelude
 * reach `onConnection`.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { PeerIdentity } from '../../auth/index.js';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import { addressKey } from './address-key.js';
import type { ConnectionConfig } from './config.js';
import {
  type Connection,
  type Listener,
  type ListenHooks,
  type RefusedReason,
  remoteAddressOf,
  reportUnhandledError,
} from './connection.js';
import { firstBytesDeadline } from './first-bytes.js';
import { RejectReason, type RejectReasonName } from './prelude.js';
import { serverAccept, serverReject } from './prelude-exchange.js';
import { SecureStepError } from './secure-step-error.js';

export { SecureStepError } from './secure-step-error.js';

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

/**
 * Tells `hooks.onRefused` (if any) that a connection from `remote` was dropped for `reason`. A hook that
 * throws is reported as unhandled, never to the listener. Shared by every listener (TLS, TCP, WebSocket).
 */
export function reportRefused(
  hooks: ListenHooks,
  reason: RefusedReason,
  error: TransportError,
  remote: {
    readonly address?: string | undefined;
    readonly host?: string | undefined;
    readonly port?: number | undefined;
  },
  peer?: PeerIdentity,
): void {
  if (!hooks.onRefused) return;
  try {
    hooks.onRefused({
      reason,
      error,
      remoteAddress: remote.address,
      remoteHost: remote.host,
      remotePort: remote.port,
      peer,
    });
  } catch (err) {
    reportUnhandledError(err);
  }
}

/** Where a connection comes from, read once at accept (a destroyed socket no longer knows). */
export interface Remote {
  /** `host:port`, or undefined when the socket was gone before it was accepted. */
  readonly address: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** The source it counts against for the per-address limits (address-key.ts). */
  readonly key: string | undefined;
}

/** One connection in handshake; the secure step sets `socket` as soon as it wraps the raw socket. */
export interface Handshake {
  readonly raw: net.Socket;
  socket: Duplex;
  readonly remote: Remote;
}

export interface ListenerSpec extends ListenHooks {
  host: string;
  port: number;
  config: ConnectionConfig;
  /** TLS (or nothing) and the verdict. Rejects with SecureStepError; must not throw synchronously. */
  secure: (handshake: Handshake) => Promise<Secured>;
  /**
   * True when the client speaks first (TLS: its ClientHello): then `firstBytesTimeoutMs` applies,
   * and `secure` starts only once the client's first bytes have arrived.
   */
  clientSpeaksFirst: boolean;
  /**
   * What to write to a connection refused before its handshake (at a handshake limit) before ending
   * it: the one refusal the client can read at that point (TLS: an alert; TCP: a REJECT).
   */
  refusal: (message: string) => Uint8Array;
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

  // Per source (address-key.ts): handshakes in progress, and connections that hold a connection slot
  // (ACCEPT written, or established).
  const handshakesFrom = new Counter();
  const connectionsFrom = new Counter();
  let refusing = 0; // refused before the handshake, lingering until the client closes

  const refuse = (reason: RefusedReason, error: TransportError, remote: Remote, peer?: PeerIdentity) =>
    reportRefused(spec, reason, error, remote, peer);

  /**
   * Refuses a connection before its handshake: writes the transport's refusal, ends our side and
   * lingers like a REJECT, so the client reads "busy" instead of a reset. At most `maxHandshakes`
   * refusals linger at once; beyond that they are destroyed at once.
   */
  const refuseEarly = (raw: net.Socket, remote: Remote, message: string) => {
    if (config.maxHandshakes === 0 || refusing < config.maxHandshakes) {
      refusing++;
      raw.once('close', () => refusing--);
      const timer = setTimeout(() => raw.destroy(), config.rejectLingerMs);
      raw.once('close', () => clearTimeout(timer));
      raw.end(spec.refusal(message));
      raw.resume();
    } else {
      raw.destroy();
    }
    refuse('HANDSHAKE_LIMIT', transportError('CONNECTION_LIMIT', message), remote);
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
    const key = hs.remote.key!;
    const full = connectionsFull(config, established.size + accepting, connectionsFrom, key);
    if (full !== undefined) {
      serverReject(socket, RejectReason.OVERLOADED, full, config.rejectLingerMs);
      throw new SecureStepError(
        'OVERLOADED',
        transportError('CONNECTION_LIMIT', `rejected client (OVERLOADED): ${full}`, {
          remoteCode: 'OVERLOADED',
        }),
        verdict.peer,
        true,
      );
    }
    accepting++;
    connectionsFrom.add(key);
    let negotiated: Awaited<ReturnType<typeof serverAccept>>;
    try {
      negotiated = await serverAccept(socket);
    } catch (err) {
      connectionsFrom.remove(key);
      const error = isTransportError(err)
        ? err
        : transportError('HANDSHAKE_FAILED', String(err), { cause: err });
      throw new SecureStepError(error.code === 'CONNECTION_LOST' ? 'CLOSED' : 'PRELUDE_FAILED', error);
    } finally {
      accepting--;
    }
    if (socket.destroyed) {
      connectionsFrom.remove(key);
      throw new SecureStepError('CLOSED', transportError('CONNECTION_LOST', 'client left'));
    }
    const connection: Connection = {
      socket,
      role: 'server',
      peer: verdict.peer,
      version: negotiated.version,
      codec: negotiated.codec,
      resumed: secured.resumed,
      remoteAddress: hs.remote.address,
    };
    established.add(connection);
    socket.once('close', () => {
      established.delete(connection);
      connectionsFrom.remove(key);
    });
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
    if (pending.delete(hs)) handshakesFrom.remove(hs.remote.key!);
  };

  const server = net.createServer({ noDelay: true }, (raw) => {
    // The raw socket's own errors surface through the TLS socket (or are the TCP socket's); a listener
    // here keeps one from ever being unhandled.
    raw.on('error', () => undefined);
    const remote = remoteOf(raw);
    if (closed) {
      raw.destroy();
      return;
    }
    if (remote.key === undefined) {
      // Reset before we got to it: there is nobody left to answer.
      raw.destroy();
      refuse('CLOSED', transportError('CONNECTION_LOST', 'client left before it was accepted'), remote);
      return;
    }
    if (config.maxHandshakes > 0 && pending.size >= config.maxHandshakes) {
      refuseEarly(raw, remote, `server busy: at maxHandshakes (${config.maxHandshakes})`);
      return;
    }
    if (
      config.maxHandshakesPerAddress > 0 &&
      handshakesFrom.get(remote.key) >= config.maxHandshakesPerAddress
    ) {
      refuseEarly(
        raw,
        remote,
        `server busy: at maxHandshakesPerAddress (${config.maxHandshakesPerAddress}) for ${remote.key}`,
      );
      return;
    }
    const hs: Handshake = { raw, socket: raw, remote };
    pending.add(hs);
    handshakesFrom.add(remote.key);
    /** A deadline passed while the handshake was still in progress: drop it and say which. */
    const timedOut = (message: string) => {
      if (!pending.has(hs)) return;
      finish(hs);
      hs.socket.destroy();
      raw.destroy();
      refuse('HANDSHAKE_TIMEOUT', transportError('HANDSHAKE_TIMEOUT', message), remote);
    };
    if (config.handshakeTimeoutMs > 0) {
      const timer = setTimeout(
        () => timedOut(`handshake not finished within ${config.handshakeTimeoutMs} ms`),
        config.handshakeTimeoutMs,
      );
      timers.set(hs, timer);
    }
    if (spec.clientSpeaksFirst) {
      const stop = firstBytesDeadline(raw, config.firstBytesTimeoutMs, () =>
        timedOut(`client sent nothing within ${config.firstBytesTimeoutMs} ms (firstBytesTimeoutMs)`),
      );
      raw.once('close', stop);
    }
    const started = handle(hs);
    started.catch((err: unknown) => {
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
      refuse(failure.reason, failure.error, remote, failure.peer);
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

/** Reads where `raw` comes from; called at accept, while the socket still knows. */
function remoteOf(raw: net.Socket): Remote {
  const host = raw.remoteAddress;
  const port = raw.remotePort;
  return { address: remoteAddressOf(raw), host, port, key: addressKey(host) };
}

/**
 * Why a listener with `open` connections (established and being accepted) must refuse one more from
 * the source `key` (a message for REJECT OVERLOADED), or undefined when it may accept it.
 */
export function connectionsFull(
  config: ConnectionConfig,
  open: number,
  connectionsFrom: Counter,
  key: string,
): string | undefined {
  if (config.maxConnections > 0 && open >= config.maxConnections) {
    return `server busy: at maxConnections (${config.maxConnections})`;
  }
  if (config.maxConnectionsPerAddress > 0 && connectionsFrom.get(key) >= config.maxConnectionsPerAddress) {
    return `server busy: at maxConnectionsPerAddress (${config.maxConnectionsPerAddress}) for ${key}`;
  }
  return undefined;
}

/** Counts per key (per source address); a key whose count drops to 0 is forgotten, so the map only holds live sources. */
export class Counter {
  readonly #counts = new Map<string, number>();

  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.#counts.set(key, this.get(key) + 1);
  }

  remove(key: string): void {
    const n = this.get(key) - 1;
    if (n > 0) this.#counts.set(key, n);
    else this.#counts.delete(key);
  }
}
