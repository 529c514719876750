/**
 * Where exceptions thrown by user callbacks (onChannel) or by a bug of ours in a stream handler go: never
 * back into the multiplexer, but re-thrown on a fresh stack so they surface as an uncaught exception, the
 * way RxJS reports errors no one handles.
 */
export function reportUnhandled(err: unknown): void {
  setTimeout(() => {
    throw err;
  });
}
