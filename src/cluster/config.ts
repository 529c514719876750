/**
 * Timings and limits of a leased membership provider (PostgreSQL), in one place, with their defaults
 * and checks.
 */
import { transportError } from '../transport/errors.js';

/** The longest delay a Node timer takes, ms (2^31-1). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Every field is in milliseconds, except `maxStateBytes`. */
export interface MembershipConfig {
  /**
   * How long a member stays live after its last renewal, by the database's clock (`now()`), ms.
   * Default 10_000. At least 2 × heartbeatMs, so that one late heartbeat does not drop a member.
   */
  leaseMs: number;
  /** How often a member renews its lease, ms. Default 3_000. At least 10. */
  heartbeatMs: number;
  /**
   * How often the member list is read again in full, whatever NOTIFY said: the fallback for a lost
   * notification or a lost listening connection, ms. Default 30_000. At least 10.
   */
  refreshMs: number;
  /** How long connecting to the database may take, ms. Default 5_000. At least 1. */
  connectTimeoutMs: number;
  /**
   * How long one renewal (connecting included) may take before its connection is destroyed and the
   * next beat tries on a new one, ms. Default: heartbeatMs (3_000 with the defaults). At least 10;
   * heartbeatTimeoutMs + fenceMarginMs < leaseMs.
   */
  heartbeatTimeoutMs: number;
  /**
   * How long one query on the query connection (a claim, release, load, save, or a read of the member
   * list) may run once its turn comes, ms; connecting is bounded by connectTimeoutMs. Past it the query
   * fails (claims and state: RpcError UNAVAILABLE reason STORE_UNAVAILABLE), its connection is destroyed
   * and the next query opens a new one. Default 5_000. At least 10.
   */
  queryTimeoutMs: number;
  /**
   * How long before its lease could expire a node fences itself, ms: the lease state turns `fenced`
   * at (monotonic send time of the last successful renewal) + leaseMs - fenceMarginMs. It covers timer
   * lateness and the clocks' drift over one lease. Default 1_000, or leaseMs / 5 when that is less.
   * At least 0; fenceMarginMs + heartbeatMs < leaseMs.
   */
  fenceMarginMs: number;
  /**
   * How long a member row stays in the table after its lease expired, ms; then a refresh deletes it,
   * with its claims (placements). Default 3_600_000 (1 hour). At least leaseMs.
   */
  expiredRetentionMs: number;
  /** The largest encoded (MessagePack) state a save writes, bytes. Default 1_048_576 (1 MiB). At least 1. */
  maxStateBytes: number;
}

/** The defaults, documented field by field on {@link MembershipConfig}. */
export function defaultMembershipConfig(): MembershipConfig {
  return {
    leaseMs: 10_000,
    heartbeatMs: 3_000,
    refreshMs: 30_000,
    connectTimeoutMs: 5_000,
    heartbeatTimeoutMs: 3_000,
    queryTimeoutMs: 5_000,
    fenceMarginMs: 1_000,
    expiredRetentionMs: 3_600_000,
    maxStateBytes: 1_048_576,
  };
}

/** Throws TransportError INVALID_CONFIG naming the first bad field. */
export function verifyMembershipConfig(c: MembershipConfig): void {
  for (const k of [
    'leaseMs',
    'heartbeatMs',
    'refreshMs',
    'connectTimeoutMs',
    'heartbeatTimeoutMs',
    'queryTimeoutMs',
    'fenceMarginMs',
    'expiredRetentionMs',
    'maxStateBytes',
  ] as const) {
    const v = c[k];
    const min = k === 'fenceMarginMs' ? 0 : 1;
    if (!Number.isSafeInteger(v) || v < min || v > MAX_TIMER_MS) {
      bad(k, `must be an integer from ${min} to ${MAX_TIMER_MS}, got ${String(v)}`);
    }
  }
  if (c.heartbeatMs < 10) bad('heartbeatMs', 'must be at least 10');
  if (c.refreshMs < 10) bad('refreshMs', 'must be at least 10');
  if (c.heartbeatTimeoutMs < 10) bad('heartbeatTimeoutMs', 'must be at least 10');
  if (c.queryTimeoutMs < 10) bad('queryTimeoutMs', 'must be at least 10');
  if (c.leaseMs < 2 * c.heartbeatMs) bad('leaseMs', 'must be at least 2 × heartbeatMs');
  if (c.fenceMarginMs + c.heartbeatMs >= c.leaseMs)
    bad('fenceMarginMs', 'must be less than leaseMs - heartbeatMs');
  if (c.heartbeatTimeoutMs + c.fenceMarginMs >= c.leaseMs)
    bad('heartbeatTimeoutMs', 'must be less than leaseMs - fenceMarginMs');
  if (c.expiredRetentionMs < c.leaseMs) bad('expiredRetentionMs', 'must be at least leaseMs');
}

/**
 * Defaults, overridden by `partial`, verified. heartbeatTimeoutMs defaults to the heartbeatMs given,
 * fenceMarginMs to min(1_000, floor(leaseMs / 5)) of the leaseMs given.
 */
export function resolveMembershipConfig(partial?: Partial<MembershipConfig>): MembershipConfig {
  const c = { ...defaultMembershipConfig(), ...partial };
  if (partial?.heartbeatTimeoutMs === undefined) c.heartbeatTimeoutMs = c.heartbeatMs;
  if (partial?.fenceMarginMs === undefined) c.fenceMarginMs = Math.min(1_000, Math.floor(c.leaseMs / 5));
  verifyMembershipConfig(c);
  return c;
}

function bad(field: string, why: string): never {
  throw transportError('INVALID_CONFIG', `membership config: ${field} ${why}`);
}
