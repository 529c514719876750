/**
 * Supervision of one actor: its restart policy, validated, and the budget of restarts it has left.
 *
 * An actor FAILS when its `onStart` throws, or when a handler fails with an error its `fatal` option
 * accepts. Under `restart: 'never'` (the default) a failed actor stays failed: its calls fail
 * UNAVAILABLE until it is unregistered. Under `'on-failure'` (or a {@link RestartOptions} object) the
 * cell stops the failed instance, waits a backoff, and starts a fresh one, at most `maxRestarts` times
 * within `withinMs`; one failure more and it stays failed. Like a one-for-one supervisor with
 * exponential backoff (Akka's BackoffSupervisor, proto.actor's ExponentialBackoffStrategy), where the
 * supervisor is the actor system.
 */
import { transportError } from '../../transport/errors.js';

/** How an actor comes back from a failure (see `@actor({ restart })`). */
export type RestartPolicy = 'never' | 'on-failure' | RestartOptions;

/** `'on-failure'` with limits of its own; a field left out takes its default. */
export interface RestartOptions {
  /** Restarts allowed within `withinMs`, count. Default 10. At least 1 (none: use `'never'`). */
  maxRestarts?: number;
  /** The window restarts are counted in, ms. Default 60_000. 0: the actor's whole life. */
  withinMs?: number;
  /** Wait before the first restart, ms; doubles with each restart in the window. Default 100. 0: none. */
  backoffMs?: number;
  /** The longest wait before a restart, ms. Default 10_000. At least `backoffMs`. */
  maxBackoffMs?: number;
}

/** The defaults of {@link RestartOptions}, documented field by field there. */
export function defaultRestartOptions(): Required<RestartOptions> {
  return { maxRestarts: 10, withinMs: 60_000, backoffMs: 100, maxBackoffMs: 10_000 };
}

/** The longest delay a Node timer takes, ms (2^31-1): the most a backoff may be. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Throws TransportError INVALID_CONFIG naming the bad field: `restart` must be 'never', 'on-failure'
 * or an object of {@link RestartOptions} (integers of ms from 0, `maxRestarts` at least 1, backoffs at
 * most 2^31-1 ms, `maxBackoffMs` at least `backoffMs`); `fatal` must be a function.
 */
export function verifySupervision(restart: unknown, fatal: unknown): void {
  if (fatal !== undefined && typeof fatal !== 'function') bad('fatal', 'must be a function');
  if (restart === undefined || restart === 'never' || restart === 'on-failure') return;
  if (typeof restart !== 'object' || restart === null || Array.isArray(restart)) {
    bad('restart', `must be 'never', 'on-failure' or { maxRestarts, withinMs, backoffMs, maxBackoffMs }`);
  }
  const defaults = defaultRestartOptions();
  for (const [k, v] of Object.entries(restart)) {
    if (!(k in defaults)) bad(`restart.${k}`, 'is no restart option');
    if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < 0)) {
      bad(`restart.${k}`, `must be a non-negative integer, got ${String(v)}`);
    }
  }
  const o = { ...defaults, ...defined(restart as RestartOptions) };
  if (o.maxRestarts < 1) bad('restart.maxRestarts', `must be at least 1 (none: restart 'never')`);
  if (o.maxBackoffMs > MAX_TIMER_MS) bad('restart.maxBackoffMs', `must be at most ${MAX_TIMER_MS}`);
  if (o.maxBackoffMs < o.backoffMs) bad('restart.maxBackoffMs', 'must be at least restart.backoffMs');
}

/** The restarts an actor has left: a sliding window of the times of its recent restarts. */
export class RestartBudget {
  private readonly options: Required<RestartOptions>;
  /** When each restart in the window happened (Date.now() ms), oldest first; at most `maxRestarts`. */
  private readonly recent: number[] = [];
  /** Restarts so far, when `withinMs` is 0 (no window: no times kept). */
  private count = 0;

  /** `policy` as verified by {@link verifySupervision}. */
  constructor(policy: Exclude<RestartPolicy, 'never'>) {
    this.options = { ...defaultRestartOptions(), ...(policy === 'on-failure' ? {} : defined(policy)) };
  }

  /**
   * Take one restart: the backoff to wait before it, ms, or undefined when `maxRestarts` restarts
   * already happened within `withinMs` before `now` (then the actor stays failed). The n-th restart in
   * the window waits `backoffMs` × 2^(n-1), at most `maxBackoffMs`.
   */
  take(now: number): number | undefined {
    const { maxRestarts, withinMs, backoffMs, maxBackoffMs } = this.options;
    if (withinMs > 0) {
      while (this.recent.length > 0 && this.recent[0]! <= now - withinMs) this.recent.shift();
      this.count = this.recent.length;
    }
    if (this.count >= maxRestarts) return undefined;
    if (withinMs > 0) this.recent.push(now);
    this.count++;
    return Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(this.count - 1, 31));
  }

  /** What the budget allows, for messages: "10 restarts within 60000 ms". */
  describe(): string {
    const { maxRestarts, withinMs } = this.options;
    return `${maxRestarts} restart${maxRestarts === 1 ? '' : 's'}${withinMs > 0 ? ` within ${withinMs} ms` : ''}`;
  }

  /** Restarts counted in the window (the last {@link take} included). */
  get used(): number {
    return this.count;
  }
}

/** The fields of `o` that are set (an explicit undefined takes the default). */
function defined(o: RestartOptions): RestartOptions {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v as number;
  return out;
}

function bad(field: string, why: string): never {
  throw transportError('INVALID_CONFIG', `actor ${field} ${why}`);
}
