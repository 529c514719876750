/**
 * Configuration of connections (listeners and dialers), with defaults, units and validation.
 */
import { transportError } from '../errors.js';
import { MIN_PORT_WINDOW } from './port-link.js';

export interface ConnectionConfig {
  /**
   * Budget for the whole handshake, ms: TCP connect (dialer), TLS, and the prelude. A connection that
   * has not finished in time is destroyed (HANDSHAKE_TIMEOUT). 0 means no limit (tests only).
   * Default 5000.
   */
  handshakeTimeoutMs: number;
  /**
   * Listener: connections in handshake at once. A connection beyond it is destroyed at once, before
   * TLS. 0 means no limit. Default 64.
   */
  maxHandshakes: number;
  /**
   * Listener: connections in handshake at once from one address (an IPv4 address, or an IPv6 /64;
   * IPv4-mapped IPv6 counts as IPv4). A connection beyond it is refused before TLS, like one beyond
   * `maxHandshakes`. 0 means no limit. Default 8: a burst of reconnects from one host or NAT still
   * fits, while one source can hold at most an eighth of the default `maxHandshakes`.
   */
  maxHandshakesPerAddress: number;
  /**
   * Listener, TLS: how long a new TCP connection may stay silent, ms: the client speaks first (its
   * ClientHello is sent at connect), so a connection that has sent nothing by then is destroyed
   * (HANDSHAKE_TIMEOUT) and frees its handshake slot. Within `handshakeTimeoutMs`, which still bounds
   * the whole handshake. 0 means only `handshakeTimeoutMs` applies. Default 1000: a ClientHello
   * crosses any working network in well under a second, while an idle socket no longer holds a slot
   * for the whole handshake timeout.
   */
  firstBytesTimeoutMs: number;
  /**
   * Listener: established connections at once. A client beyond it gets REJECT OVERLOADED after TLS.
   * 0 means no limit. Default 10_000: far above what one Node process serves well, low enough that a
   * flood of authorized clients cannot exhaust file descriptors and memory unnoticed.
   */
  maxConnections: number;
  /**
   * Listener: established connections at once from one address (grouped as for
   * `maxHandshakesPerAddress`). A client beyond it gets REJECT OVERLOADED after TLS. 0 means no limit.
   * Default 1000: a tenth of the default `maxConnections`, so no single host (or NAT) can take the
   * whole listener.
   */
  maxConnectionsPerAddress: number;
  /** Lifetime of the certificates we make from our identity, ms. Default 24 h. */
  certificateValidityMs: number;
  /**
   * Make a new certificate when less than this much of the current one's lifetime remains, ms. Must
   * be below `certificateValidityMs`. Default 6 h.
   */
  certificateRenewBeforeMs: number;
  /** How far the peer's clock may be off when checking certificate dates, ms. 0 means exact. Default 5 min. */
  clockToleranceMs: number;
  /**
   * Lifetime of TLS session tickets, ms (whole seconds). A listener issues tickets valid this long; a
   * dialer forgets a ticket after this long. 0 disables resumption. Default 1 h.
   */
  sessionTicketLifetimeMs: number;
  /**
   * Listener: after writing a REJECT, how long to wait for the client to close before destroying the
   * connection, ms (so the REJECT is read rather than lost to a reset). 0 means destroy at once. Default 1000.
   */
  rejectLingerMs: number;
  /**
   * MessagePort connections: the receive window, bytes. A port has no backpressure of its own, so each
   * side grants the other this much credit and more only as its reader consumes: at most this many
   * bytes the peer sent wait unread here. A writer out of credit waits (its write callback is held); a
   * peer that sends beyond it is cut (WINDOW_EXCEEDED). Default 1 MiB: several of the multiplexer's
   * 256 KiB stream windows in flight at once, a small fraction of a worker's heap.
   */
  portWindowBytes: number;
  /**
   * WebSocket (listener and dialer): the largest message accepted from the peer, bytes. A larger one
   * closes the connection (close code 1009). rxchan peers send messages of at most
   * `WS_MAX_SEND_MESSAGE` (64 KiB). Default 1 MiB.
   */
  maxWebSocketMessage: number;
}

/** The defaults, documented field by field in {@link ConnectionConfig}. */
export function defaultConfig(): ConnectionConfig {
  return {
    handshakeTimeoutMs: 5000,
    maxHandshakes: 64,
    maxHandshakesPerAddress: 8,
    firstBytesTimeoutMs: 1000,
    maxConnections: 10_000,
    maxConnectionsPerAddress: 1000,
    certificateValidityMs: 24 * 60 * 60 * 1000,
    certificateRenewBeforeMs: 6 * 60 * 60 * 1000,
    clockToleranceMs: 5 * 60 * 1000,
    sessionTicketLifetimeMs: 60 * 60 * 1000,
    rejectLingerMs: 1000,
    portWindowBytes: 1024 * 1024,
    maxWebSocketMessage: 1024 * 1024,
  };
}

/** Longest timer Node can set, ms; longer durations are rejected rather than silently shortened. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Longest ticket lifetime, ms: TLS 1.3 caps it at 7 days (RFC 8446 §4.6.1). */
const MAX_TICKET_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** Throws TransportError INVALID_CONFIG naming the first bad field. */
export function verifyConfig(config: ConnectionConfig): void {
  const intIn = (field: keyof ConnectionConfig, min: number, max: number) => {
    const v = config[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw transportError(
        'INVALID_CONFIG',
        `connection config: ${field} must be an integer in [${min}, ${max}], got ${v}`,
      );
    }
  };
  intIn('handshakeTimeoutMs', 0, MAX_TIMER_MS);
  intIn('maxHandshakes', 0, 1_000_000);
  intIn('maxHandshakesPerAddress', 0, 1_000_000);
  intIn('firstBytesTimeoutMs', 0, MAX_TIMER_MS);
  intIn('maxConnections', 0, 10_000_000);
  intIn('maxConnectionsPerAddress', 0, 10_000_000);
  intIn('certificateValidityMs', 60_000, 397 * 24 * 60 * 60 * 1000);
  intIn('certificateRenewBeforeMs', 0, config.certificateValidityMs - 1);
  intIn('clockToleranceMs', 0, 24 * 60 * 60 * 1000);
  intIn('sessionTicketLifetimeMs', 0, MAX_TICKET_LIFETIME_MS);
  if (config.sessionTicketLifetimeMs > 0 && config.sessionTicketLifetimeMs < 1000) {
    throw transportError(
      'INVALID_CONFIG',
      'connection config: sessionTicketLifetimeMs must be 0 or at least 1000',
    );
  }
  intIn('rejectLingerMs', 0, 60_000);
  intIn('portWindowBytes', MIN_PORT_WINDOW, 2 ** 30);
  intIn('maxWebSocketMessage', 65_536, 64 * 1024 * 1024);
}

const FIELDS = Object.keys(defaultConfig()) as (keyof ConnectionConfig)[];

/**
 * Defaults overlaid with the given fields, verified. Unknown fields are ignored. Throws TransportError
 * INVALID_CONFIG like {@link verifyConfig}.
 */
export function resolveConfig(partial: Partial<ConnectionConfig> | undefined): ConnectionConfig {
  const config = defaultConfig();
  let overridden = false;
  for (const key of FIELDS) {
    const v = partial?.[key];
    if (v !== undefined) {
      config[key] = v;
      overridden = true;
    }
  }
  // Every dial resolves its config; the defaults alone are valid by construction (a spec checks it).
  if (overridden) verifyConfig(config);
  return config;
}
