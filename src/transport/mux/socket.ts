/**
 * The byte stream a multiplexer session runs over: the part of a Node Duplex it uses, so that a
 * net.Socket, a tls.TLSSocket or an in-memory Duplex fit as they are, and a browser (a WebSocket, an
 * in-page pair) can supply a small object of its own.
 *
 * The contract, as a Node Duplex keeps it: 'data' hands over each chunk read (the session keeps chunks
 * it is handed, so the socket must not reuse them); 'end' when the peer finished writing; 'error' then
 * 'close' on failure; 'close' once both directions are done. `write()` takes ownership of the chunk,
 * calls `callback` once it left (or failed), and returns false once its buffer is full, then emits
 * 'drain' when it has room again. `pause()` stops 'data' until `resume()`; the session calls `resume()`
 * once when it starts.
 */
export interface ByteSocket {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close' | 'drain', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  write(chunk: Uint8Array, callback?: (err?: Error | null) => void): boolean;
  /** Hold writes until `uncork()`, to send them together. */
  cork(): void;
  uncork(): void;
  /** Finish writing (the peer gets 'end'), keep reading. */
  end(): unknown;
  /** Close both directions now. */
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  /** Bytes written and not yet handed on. */
  readonly writableLength: number;
}
