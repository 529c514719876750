/**
 * Where the call scope of the running handler lives (see actors/context.ts), in a browser: there is no
 * AsyncLocalStorage, so the scope is synchronous. `getStore()` returns it while `run()`'s function runs,
 * synchronously: in a handler (and the calls it makes) up to its first `await`, and in none of the code
 * that runs after it. Code after an await sees no scope: `callContext()` throws INTERNAL there, and calls
 * made there do not inherit the deadline or the cancellation (read `callContext()` first, and pass its
 * `signal` on yourself). Same surface as Node's AsyncLocalStorage for what rxchan uses.
 */
export class ScopeStorage<T> {
  #store: T | undefined;

  /** Calls `fn(...args)` with `store` as the store, restoring the previous one after (also on a throw). */
  run<R, A extends unknown[]>(store: T, fn: (...args: A) => R, ...args: A): R {
    const previous = this.#store;
    this.#store = store;
    try {
      return fn(...args);
    } finally {
      this.#store = previous;
    }
  }

  /** The store of the `run()` running now, if any. */
  getStore(): T | undefined {
    return this.#store;
  }
}
