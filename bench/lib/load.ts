/**
 * The pieces every benchmark driver shares: a time limit on any promise, and the bounded in-flight loop
 * (`n` workers calling back to back until a timer closes the window).
 */

/** Grace after a measuring window before a driver gives up, ms. */
export const GRACE_MS = 10_000;

/** `p`, or a rejection naming `what` once `ms` have passed. */
export async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `n` workers issuing `call` back to back until a timer closes the window after `ms`; `onClose` gets the
 * calls completed by then (read once, when the window closes: reading the clock per call would cost
 * more than some calls). Calls still in flight at that point are awaited but not counted there; the
 * result is every call completed, those included. Rejects with the first failing call, or after `ms` +
 * {@link GRACE_MS} naming `what`.
 */
export async function inFlightWindow(
  call: () => Promise<unknown>,
  n: number,
  ms: number,
  what: string,
  onClose: (completed: number) => void,
): Promise<number> {
  let open = true;
  let completed = 0;
  const timer = setTimeout(() => {
    open = false;
    onClose(completed);
  }, ms);
  const worker = async (): Promise<void> => {
    while (open) {
      await call();
      completed++;
    }
  };
  try {
    await deadline(Promise.all(Array.from({ length: n }, worker)), ms + GRACE_MS, `${what} in flight`);
    return completed;
  } finally {
    clearTimeout(timer);
  }
}
