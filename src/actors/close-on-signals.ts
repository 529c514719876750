/**
 * Graceful shutdown on SIGTERM and SIGINT for a process that hosts an {@link ActorSystem}, in one line:
 *
 * ```ts
 * closeOnSignals(server);
 * ```
 *
 * The first signal starts `system.close()` (see there: queued calls are answered UNAVAILABLE, running
 * ones get `closeTimeoutMs`, then each `onStop` runs) and exits with code 0 when it is done. A second
 * signal while it closes exits at once with 128 + the signal's number (130 for SIGINT, 143 for
 * SIGTERM: what the shell reports for a process the signal killed). A close that takes longer than
 * `timeoutMs` (an `onStop` that hangs) exits with code 1.
 */
import { constants } from 'node:os';
import type { ActorSystem } from './system.js';

/** Extra time {@link closeOnSignals} allows by default beyond `closeTimeoutMs`, for `onStop` hooks, ms. */
export const SIGNAL_CLOSE_MARGIN_MS = 5_000;

/** Options of {@link closeOnSignals}. */
export interface CloseOnSignalsOptions {
  /** The signals that start the close. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[];
  /**
   * How long after the first signal the close may take, ms; past it the process exits with code 1
   * (`onClosed` is not called). Default: the system's `closeTimeoutMs` plus
   * {@link SIGNAL_CLOSE_MARGIN_MS}. 0: no limit.
   */
  timeoutMs?: number;
  /**
   * Called once `close()` has finished, with the signal that started it. Default: `process.exit(0)`.
   * When given, the process is not exited for you: it ends when nothing else keeps it alive, or when
   * this function exits it (close your other servers here). An exception it throws goes to the
   * process's `uncaughtException`, as a listener's would.
   */
  onClosed?: (signal: NodeJS.Signals) => void;
}

/**
 * On the first of `signals`, close `system` gracefully, then exit (or call `onClosed`); on a second
 * one, exit at once with 128 + its number. Returns a function that removes the handlers, after which
 * the signals have Node's default effect again; a close already started goes on, but nothing follows
 * it (no `onClosed`, no exit, no `timeoutMs`).
 *
 * It never keeps the process alive on its own: signal listeners hold no handle, and its timer is
 * unref'd. Throws TypeError for a `timeoutMs` that is not a non-negative integer.
 *
 * @example
 * ```ts
 * const server = new ActorSystem({ identity, authorizedKeys });
 * await server.register(Calculator);
 * await server.listen({ port: 7000 });
 * closeOnSignals(server); // SIGTERM or Ctrl-C: finish the calls in flight, run onStop, exit 0
 * ```
 */
export function closeOnSignals(
  system: Pick<ActorSystem, 'close' | 'config'>,
  options: CloseOnSignalsOptions = {},
): () => void {
  const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as const);
  const timeoutMs = options.timeoutMs ?? system.config.closeTimeoutMs + SIGNAL_CLOSE_MARGIN_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0) {
    throw new TypeError(`closeOnSignals: timeoutMs must be a non-negative integer of ms, got ${timeoutMs}`);
  }
  const onClosed = options.onClosed ?? exitZero;
  let closing = false;
  let removed = false;
  let timer: NodeJS.Timeout | undefined;

  const closed = (signal: NodeJS.Signals): void => {
    clearTimeout(timer);
    // Its own tick: what onClosed throws is an uncaught exception, not a lost rejection.
    if (!removed) process.nextTick(onClosed, signal);
  };
  const handler = (signal: NodeJS.Signals): void => {
    if (closing) process.exit(128 + (constants.signals[signal] ?? 0));
    closing = true;
    if (timeoutMs > 0) {
      timer = setTimeout(exitOne, timeoutMs);
      timer.unref();
    }
    system.close().then(
      () => closed(signal),
      (err: unknown) => {
        // close() does not reject; if it ever did, that is a bug worth a crash, not a silent exit 0.
        process.nextTick(() => {
          throw err;
        });
      },
    );
  };

  for (const s of signals) process.on(s, handler);
  return () => {
    removed = true;
    for (const s of signals) process.off(s, handler);
    clearTimeout(timer);
  };
}

function exitZero(): void {
  process.exit(0);
}

function exitOne(): void {
  process.exit(1);
}
