/**
 * Timings of a leased membership provider (PostgreSQL), in one place, with their defaults and checks.
 */
import { transportError } from '../transport/errors.js';

/** The longest delay a Node timer takes, ms (2^31-1). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Every field is in milliseconds. */
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
}

/** The defaults, documented field by field on {@link MembershipConfig}. */
export function defaultMembershipConfig(): MembershipConfig {
  return { leaseMs: 10_000, heartbeatMs: 3_000, refreshMs: 30_000, connectTimeoutMs: 5_000 };
}

/** Throws TransportError INVALID_CONFIG naming the first bad field. */
export function verifyMembershipConfig(c: MembershipConfig): void {
  for (const k of ['leaseMs', 'heartbeatMs', 'refreshMs', 'connectTimeoutMs'] as const) {
    const v = c[k];
    if (!Number.isSafeInteger(v) || v < 1 || v > MAX_TIMER_MS) {
      bad(k, `must be an integer of ms from 1 to ${MAX_TIMER_MS}, got ${String(v)}`);
    }
  }
  if (c.heartbeatMs < 10) bad('heartbeatMs', 'must be at least 10');
  if (c.refreshMs < 10) bad('refreshMs', 'must be at least 10');
  if (c.leaseMs < 2 * c.heartbeatMs) bad('leaseMs', 'must be at least 2 × heartbeatMs');
}

/** Defaults, overridden by `partial`, verified. */
export function resolveMembershipConfig(partial?: Partial<MembershipConfig>): MembershipConfig {
  const c = { ...defaultMembershipConfig(), ...partial };
  verifyMembershipConfig(c);
  return c;
}

function bad(field: string, why: string): never {
  throw transportError('INVALID_CONFIG', `membership config: ${field} ${why}`);
}
