/**
 * Where exceptions thrown by user callbacks (onClose, onDrain, onStream) go: never back into the session
 * that called them, but re-thrown on a fresh stack so they surface as an uncaught exception, the way RxJS
 * reports errors no one handles.
 */
export function reportUnhandled(err: unknown): void {
  setTimeout(() => {
    throw err;
  });
}
