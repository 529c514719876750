/**
 * How every example runs as a program: a log function with the example's prefix, a hard timeout, and
 * exit codes a test can check.
 *
 * | exit | meaning                                                                       |
 * |------|-------------------------------------------------------------------------------|
 * | 0    | `main` resolved and the process then exited by itself (nothing left open)     |
 * | 1    | `main` rejected (the error is printed on stderr)                              |
 * | 2    | `main` did not settle within the hard timeout                                 |
 * | 3    | `main` resolved but something (a socket, a timer) kept the process alive      |
 *
 * Exit 3 is why `main` must close what it opened: the examples double as checks that closing an actor
 * system releases everything.
 */

/** Prints `<prefix>: <line>` on stdout. */
export type Log = (line: string) => void;

/** A logger that prefixes every line with `prefix`. */
export function logger(prefix: string): Log {
  return (line) => console.log(`${prefix}: ${line}`);
}

/** How long a finished example may take to exit by itself, ms. */
const EXIT_GRACE_MS = 3_000;

/**
 * Run `main` as the program `name`: prints `<name>: ok` when it resolves, `<name>: FAILED: ...` on
 * stderr when it rejects or when `timeoutMs` passes first, and sets the exit code per the table above.
 */
export function runExample(name: string, main: (log: Log) => Promise<void>, timeoutMs = 15_000): void {
  const log = logger(name);
  const fail = (why: string, code: number): void => {
    console.error(`${name}: FAILED: ${why}`);
    process.exit(code);
  };
  const hard = setTimeout(() => fail(`timed out after ${timeoutMs} ms`, 2), timeoutMs);
  hard.unref();
  main(log).then(
    () => {
      clearTimeout(hard);
      log('ok');
      process.exitCode = 0;
      // Unref'd: it fires only if something else still holds the event loop open.
      setTimeout(
        () => fail(`still running ${EXIT_GRACE_MS} ms after it finished (a handle was left open)`, 3),
        EXIT_GRACE_MS,
      ).unref();
    },
    (err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1),
  );
}

/** Throws `Error(message)` unless `condition` holds: examples check what they print. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Polls `probe` every 5 ms until it returns true; rejects after `ms` naming `what`. */
export async function until(
  probe: () => boolean | Promise<boolean>,
  what: string,
  ms = 2_000,
): Promise<void> {
  const stop = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > stop) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
