/**
 * What the connection layer hands upward: an established, authenticated byte stream after the
 * prelude (docs/PROTOCOL.md section 2), and the listener that produces them.
 */
import type { Duplex } from 'node:stream';
import type { PeerIdentity } from '../../auth/index.js';
import type { TransportError } from '../errors.js';
import type { RejectReasonName } from './prelude.js';

/** An established, authenticated byte stream after the prelude. */
export interface Connection {
  /**
   * The byte stream, positioned right after the prelude: any bytes the peer sent after its prelude
   * frame are still unread in it. Hand it to `new Session(socket, role)`.
   */
  readonly socket: Duplex;
  /** `client` on the dialing side (yamux client: odd stream ids), `server` on the listening side. */
  readonly role: 'client' | 'server';
  /**
   * Who the peer is, verified: its certificate key, and on a server the name the authorized keys (or
   * a grant) give it. Undefined only on insecure (TCP, in-memory) connections.
   */
  readonly peer: PeerIdentity | undefined;
  /** The negotiated protocol version. */
  readonly version: number;
  /** The negotiated codec. */
  readonly codec: 'msgpack';
  /** True when TLS resumed an earlier session (a session ticket) instead of a full handshake. */
  readonly resumed: boolean;
  /** The peer's address as `host:port`, or undefined (in-memory). */
  readonly remoteAddress: string | undefined;
}

/** A listening endpoint. */
export interface Listener {
  /** The port actually bound (useful after listening on port 0). */
  readonly port: number;
  readonly host: string;
  /** Connections in handshake right now (TCP accepted, prelude not finished). */
  readonly handshakes: number;
  /** Connections established and not yet closed. */
  readonly connections: number;
  /**
   * Stops listening and destroys the connections still in handshake. Established connections belong
   * to whoever received them and stay open, unless `destroyConnections` is set. Idempotent.
   */
  close(options?: { destroyConnections?: boolean }): Promise<void>;
}

/** Why a listener dropped a connection before handing it over. */
export type RefusedReason =
  /** A REJECT was sent with this reason. */
  | RejectReasonName
  /**
   * At `maxHandshakes`, or at `maxHandshakesPerAddress` for the client's address: refused before TLS
   * (TLS: an internal_error alert, then the connection ends; TCP: REJECT OVERLOADED).
   */
  | 'HANDSHAKE_LIMIT'
  /**
   * The handshake did not finish within `handshakeTimeoutMs`, or (TLS) the client sent nothing within
   * `firstBytesTimeoutMs`.
   */
  | 'HANDSHAKE_TIMEOUT'
  /** TLS failed (not TLS, TLS below 1.3, a bad handshake), or a WebSocket upgrade failed. */
  | 'TLS_FAILED'
  /**
   * The client's HELLO was malformed or shared no version or codec with us; or (WebSocket) a message
   * of the in-band handshake was malformed.
   */
  | 'PRELUDE_FAILED'
  /** The client went away during the handshake. */
  | 'CLOSED'
  /**
   * WebSocket: the request's host and path match none of the listener's `origins` (answered with
   * HTTP 421 before the upgrade).
   */
  | 'ORIGIN';

/** Passed to a listener's `onRefused` hook, for logs and metrics. */
export interface RefusedEvent {
  readonly reason: RefusedReason;
  readonly error: TransportError;
  /**
   * The client as `host:port` (`[host]:port` for IPv6), read when the connection was accepted, so it
   * is there for every reason. Undefined only if the client was gone before it was accepted.
   */
  readonly remoteAddress: string | undefined;
  /** The client's IP address, as the socket gave it (an IPv4 client of a dual-stack listener is `::ffff:a.b.c.d`). */
  readonly remoteHost: string | undefined;
  /** The client's port. */
  readonly remotePort: number | undefined;
  /** The client's verified key, when its certificate was valid (e.g. UNKNOWN_KEY). */
  readonly peer: PeerIdentity | undefined;
}

/** Hooks common to every listener. */
export interface ListenHooks {
  /** Called for every connection dropped during the handshake. Must not throw (a throw is reported, not caught twice). */
  onRefused?: (event: RefusedEvent) => void;
}

/** `host:port` of a socket's remote end, or undefined. */
export function remoteAddressOf(socket: { remoteAddress?: string; remotePort?: number }): string | undefined {
  const { remoteAddress: host, remotePort: port } = socket;
  if (host === undefined || port === undefined) return undefined;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Reports an exception thrown by user code (a callback we invoked) without letting it back into the
 * socket machinery that called it: like RxJS, it is rethrown on a fresh stack, where it reaches
 * `process.on('uncaughtException')`.
 */
export function reportUnhandledError(err: unknown): void {
  setTimeout(() => {
    throw err;
  });
}
