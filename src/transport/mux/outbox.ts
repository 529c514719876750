/**
 * The session's way to the socket: frames go into a {@link FrameWriter} batch, and everything produced
 * during one turn, across all streams, is handed to the socket as one write on `process.nextTick`.
 *
 * Why nextTick: Node runs the nextTick queue after the current callback's synchronous work and again
 * after every microtask checkpoint, looping until both queues are empty. A flush queued with the first
 * frame of a turn therefore runs once the callback AND all the promise chains it started have run, deep
 * or shallow, so they still share one write; and it runs before the event loop moves on (a setImmediate
 * flush waits for the check phase, which costs latency). A queueMicrotask flush, by contrast, fires in
 * the middle of the promise chains and splits their frames over several writes. (bench/RESULTS.md has
 * the measurements.)
 *
 * Socket backpressure: once socket.write() returns false nothing more is written until 'drain'. The batch
 * meanwhile only grows by what stream windows allow plus small control frames (and at most
 * {@link MAX_QUEUED_PONGS} ping answers).
 */

import { Flag, FrameType } from './frame.js';
import type { ByteSocket } from './socket.js';
import { FrameWriter } from './writer.js';

/** Ping answers queued while the socket is congested; a peer pinging faster than we can answer is ignored beyond this. */
export const MAX_QUEUED_PONGS = 64;

export class Outbox {
  private readonly writer = new FrameWriter();
  private scheduled = false;
  private blocked = false;
  /** Set once the session has ended: nothing more is queued. */
  closed = false;
  /**
   * flush() for nextTick, made once: an arrow written inside schedule() would make V8 allocate a
   * context for `this` on every call of schedule(), i.e. per frame, even when no timer is set.
   */
  private readonly flushLater = (): void => this.flush();

  /**
   * Set while somebody waits for the queued bytes to fall: each socket write then reports its completion
   * through `written`.
   */
  reportWrites = false;

  /** Bytes handed to the socket so far. */
  bytesWritten = 0;

  /**
   * @param written called when bytes left the socket's buffer ('drain', or a reported write completed).
   */
  constructor(
    private readonly socket: ByteSocket,
    private readonly maxSendFrame: number,
    private readonly written: () => void,
  ) {
    socket.on('drain', () => {
      this.blocked = false;
      this.flush();
      written();
    });
  }

  /** Bytes queued in the batch and in the socket's own buffer (written, not yet handed to the OS). */
  get queuedBytes(): number {
    return this.writer.queuedBytes + this.socket.writableLength;
  }

  /** Queue a frame without payload. */
  frame(type: number, flags: number, streamId: number, length: number): void {
    if (this.closed) return;
    this.writer.frame(type, flags, streamId, length);
    this.schedule();
  }

  /** Queue a Data frame; the payload must not change afterwards. */
  data(flags: number, streamId: number, payload: Uint8Array): void {
    if (this.closed) return;
    this.writer.data(flags, streamId, payload, this.maxSendFrame);
    this.schedule();
  }

  /**
   * Put FIN for `streamId` on the last frame queued, when that frame is the stream's and not yet written
   * (see {@link FrameWriter.addFin}). false when it cannot: the caller queues a frame for the FIN.
   */
  finOnLast(streamId: number): boolean {
    return !this.closed && this.writer.addFin(streamId);
  }

  /** Queue a Ping request ahead of everything else. */
  ping(opaque: number): void {
    if (this.closed) return;
    this.writer.urgent(FrameType.Ping, Flag.SYN, 0, opaque);
    this.schedule();
  }

  /** Queue a Ping answer ahead of everything else, unless too many are already waiting. */
  pong(opaque: number): void {
    if (this.closed || this.writer.urgentCount >= MAX_QUEUED_PONGS) return;
    this.writer.urgent(FrameType.Ping, Flag.ACK, 0, opaque);
    this.schedule();
  }

  /** Write everything queued now, ignoring backpressure (the session is ending), and queue nothing more. */
  finish(): void {
    this.blocked = false;
    this.flush();
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled || this.blocked) return;
    this.scheduled = true;
    process.nextTick(this.flushLater);
  }

  /** Hand the batch to the socket as one write (writev when it holds large payloads). */
  private flush(): void {
    this.scheduled = false;
    if (this.blocked || this.writer.isEmpty) return;
    const socket = this.socket;
    const parts = this.writer.take();
    if (socket.destroyed || socket.writableEnded) return;
    const done = this.reportWrites ? this.written : undefined;
    let ok: boolean;
    if (parts.length === 1) {
      this.bytesWritten += parts[0]!.length;
      ok = socket.write(parts[0], done);
    } else {
      socket.cork();
      ok = true;
      const last = parts.length - 1;
      for (let i = 0; i < last; i++) {
        this.bytesWritten += parts[i]!.length;
        ok = socket.write(parts[i]);
      }
      this.bytesWritten += parts[last]!.length;
      ok = socket.write(parts[last], done);
      socket.uncork();
    }
    if (!ok) this.blocked = true;
  }
}
