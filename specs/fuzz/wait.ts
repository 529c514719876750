/**
 * Bounded waits for fuzz cases. They poll on setImmediate rather than a timer: a case settles within a
 * few event-loop turns, and a 5 ms timer per poll would cap a property at a few hundred cases a second.
 */

/** Resolves once `cond()` holds; rejects naming `what` after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
