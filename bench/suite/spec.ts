/**
 * What the suite benchmark's parent hands each child peer (./peer.ts) and client child (./caller.ts), and the limits both ends of
 * scenario 6 need. Its own module, so the parent can import it without running the child entry.
 */

/** The systems the suite compares. */
export type System = 'rxchan' | 'grpc' | 'raw';

/** The layers under an rxchan call (../lib/layers.ts), served and called for the `layers` benchmark. */
export type Layer = 'mux' | 'channel';

/** Throwaway keys and certificates of one benchmark run, and the peer's limits. */
export interface PeerSpec {
  /** The rxchan server identity's seed, hex. */
  serverSeed: string;
  /** The client's key id, authorized on the rxchan server. */
  clientId: string;
  /** The server certificate for grpc and raw (made from the same identity), PEM. */
  serverCertPem: string;
  serverKeyPem: string;
  /** The client's certificate, PEM: the one certificate the gRPC server trusts. */
  clientCertPem: string;
  /**
   * Calls the rxchan server must hold open on one connection (scenario 6); 0: library defaults.
   * See {@link streamLimits}.
   */
  streams: number;
  /** rxchan: see interceptionOptions (./intercept.ts); absent: the defaults. */
  intercepted?: boolean;
}

/** Bytes of the raw echo's payload: about what rxchan's add(1, 2) puts on the wire. */
export const RAW_PAYLOAD = 32;

/** What the parent hands a client child (./caller.ts). */
export interface CallerSpec {
  /** The server's port for this system. */
  port: number;
  /** The client identity's seed, hex (rxchan). */
  clientSeed: string;
  /** The rxchan server's key id (pinned). */
  serverId: string;
  /** The client's certificate and key (grpc, raw), PEM. */
  clientCertPem: string;
  clientKeyPem: string;
  /** The server's certificate, PEM (grpc trusts it). */
  serverCertPem: string;
  /** Calls kept in flight by `in-flight`. */
  inFlight: number;
  /** rxchan: see interceptionOptions (./intercept.ts); absent: the defaults. */
  intercepted?: boolean;
}

/** What `in-flight:<ms>` measured in the client. */
export interface InFlightResult {
  /** Calls completed within the window, per second. */
  rate: number;
  /** Calls completed within the window. */
  calls: number;
  /** Calls completed in all, the ones in flight when the window closed included (the server saw them). */
  total: number;
  /** CPU time (user + system) of this process over the window, µs. */
  cpuUs: number;
}

/** What `burst:<n>` measured in the client (scenario 7). */
export interface BurstResult {
  /** Calls answered with the right sum. */
  ok: number;
  /** From the first call started to the last settled, ms. */
  ms: number;
  /** Failed calls by RpcError code ('WRONG_ANSWER', 'NO_ANSWER' and 'NOT_AN_RPC_ERROR' for others). */
  failures: Record<string, number>;
}

/** Room above the stream count for calls still closing. */
const SLACK = 64;

/**
 * Limits (ActorSystemOptions `mux` and `config`) that let one connection hold `streams` stream calls
 * open at once, on either end: an open stream call holds its call stream and, until the caller asks
 * for the items, the demand channel, and the defaults (4096 streams, 1024 calls) are below the 10,000
 * of scenario 6. Only limits change; nothing is preallocated by them.
 */
export function streamLimits(streams: number): {
  mux: { maxConcurrentStreams: number };
  config: { maxCallsPerConnection: number; maxPendingCalls: number };
} {
  return {
    mux: { maxConcurrentStreams: 2 * streams + SLACK },
    config: { maxCallsPerConnection: streams + SLACK, maxPendingCalls: streams + SLACK },
  };
}
