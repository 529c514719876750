/**
 * A stream's lifecycle (the public {@link StreamState}) and the yes/no facts a stream keeps about itself
 * ({@link Bit}), packed in one number so that an idle stream is small: thousands of streams may sit open
 * on one session, and every field is 8 bytes on each of them.
 */

/** Lifecycle of a stream (hashicorp's streamState). */
export const StreamState = {
  /** We opened it (SYN queued); the peer has not acknowledged yet. Data may already flow. */
  SynSent: 0,
  /** The peer opened it; our ACK is not sent yet. */
  SynReceived: 1,
  /** Open both ways. */
  Established: 2,
  /** We half-closed (end()); the peer may still send. */
  LocalClose: 3,
  /** The peer half-closed (FIN); we may still send. */
  RemoteClose: 4,
  /** Both sides sent FIN. The stream leaves the table (onClose) once the listener has taken the end. */
  Closed: 5,
  /** Reset by either side, or the session ended; the stream has left the table. */
  Reset: 6,
} as const;
export type StreamState = (typeof StreamState)[keyof typeof StreamState];

/** One bit each in a stream's `bits`. */
export const Bit = {
  /** We opened the stream (so our pending open flag is SYN, not ACK). */
  Outbound: 1 << 0,
  /** Our SYN (outbound) or ACK (inbound) has not gone out yet: it rides on the next frame we send, with
   *  the announcement of a window above yamux's fixed 256 KiB. */
  OpenPending: 1 << 1,
  /** end() was called: no more writes. */
  WriteClosed: 1 << 2,
  /** Our FIN is queued. */
  FinSent: 1 << 3,
  /** write() returned false (or drained() waits): tell onDrain / the waiter when the queue falls. */
  NeedDrain: 1 << 4,
  /** The peer's FIN arrived. */
  RemoteFin: 1 << 5,
  /** The listener got onEnd. */
  EndDelivered: 1 << 6,
  /** pause(): no onData and no credit. */
  Paused: 1 << 7,
  /** Inside a listener callback: deliveries wait for it to return. */
  Delivering: 1 << 8,
  /** A microtask will deliver (data buffered before listen()). */
  DeliverScheduled: 1 << 9,
  /** The stream has ended (left the table); nothing more is sent. */
  Finished: 1 << 10,
  /** onClose was called. */
  CloseNotified: 1 << 11,
} as const;
