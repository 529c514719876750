/**
 * The session's write batch: frames queued during one tick, handed to the socket as one write.
 *
 * Headers and small payloads are copied into an arena (a slab Buffer, carved like Node's own buffer
 * pool) so that a batch of small frames is one contiguous Buffer; large payloads are referenced, not
 * copied, and go out as extra chunks of the same corked write (writev). A Data frame that directly follows
 * a Data frame of the same stream is merged into it (its header's length is patched) while the result
 * stays within the frame size limit, so many small writes on a stream in one tick cost one header; and
 * a stream's FIN is set on its frame at the tail of the batch ({@link FrameWriter.addFin}) instead of
 * costing a frame of its own.
 *
 * Memory: the batch holds what the session queued since the last flush. Stream data enters only as the
 * stream's send window allows, so it is bounded by the windows; control frames are 12 bytes each.
 */
import { Flag, FrameType, HEADER_LENGTH, putHeader, writeHeader } from './frame.js';

/** Payloads up to this many bytes are copied into the arena; larger ones are referenced. */
export const COPY_LIMIT = 2048;
/** Arena slab size, bytes. */
const ARENA_SIZE = 64 * 1024;

export class FrameWriter {
  private arena: Buffer = Buffer.allocUnsafeSlow(ARENA_SIZE);
  /** Start of the arena bytes not yet handed out as a part. */
  private segStart = 0;
  private pos = 0;
  private parts: Buffer[] = [];
  private urgentParts: Buffer[] = [];
  private queued = 0;
  /**
   * The last ordinary (not urgent) frame queued in this batch, while its header may still change: its
   * arena, the header's offset, stream id, type, flags and (Data) payload length. undefined after take(),
   * and for frames on stream 0. Urgent frames go in front of the batch, so they never come between two
   * ordinary frames.
   */
  private tailArena: Buffer | undefined;
  private tailAt = 0;
  private tailId = 0;
  private tailType = 0;
  private tailFlags = 0;
  private tailLength = 0;

  /** Bytes queued and not yet taken. */
  get queuedBytes(): number {
    return this.queued;
  }

  get isEmpty(): boolean {
    return this.queued === 0;
  }

  /** Urgent control frames (Ping) queued and not yet taken. */
  get urgentCount(): number {
    return this.urgentParts.length;
  }

  /** Queues a frame without payload (WindowUpdate, GoAway, or a Data frame carrying flags only). */
  frame(type: number, flags: number, streamId: number, length: number): void {
    const at = this.reserve(HEADER_LENGTH);
    putHeader(this.arena, at, type, flags, streamId, length);
    this.queued += HEADER_LENGTH;
    this.setTail(at, type, flags, streamId, 0);
  }

  /**
   * Sets FIN on the last frame queued, when it is a Data or WindowUpdate frame of `streamId` without RST
   * that has not been taken yet, so that the stream's last data (or its flags-only frame) carries its
   * half-close. Returns false, changing nothing, otherwise: the caller then queues a frame for the FIN.
   * A frame with FIN is never extended by a later Data frame.
   */
  addFin(streamId: number): boolean {
    const arena = this.tailArena;
    if (arena === undefined || this.tailId !== streamId || (this.tailFlags & Flag.RST) !== 0) return false;
    this.tailFlags |= Flag.FIN;
    arena[this.tailAt + 3] = this.tailFlags & 0xff;
    arena[this.tailAt + 2] = this.tailFlags >>> 8;
    return true;
  }

  /** Queues a Ping (or other session frame) ahead of everything else in the batch. */
  urgent(type: number, flags: number, streamId: number, length: number): void {
    const b = Buffer.allocUnsafe(HEADER_LENGTH);
    writeHeader(b, 0, type, flags, streamId, length);
    this.urgentParts.push(b);
    this.queued += HEADER_LENGTH;
  }

  /**
   * Queues a Data frame. `payload` is referenced (if large) or copied: the caller must not change it
   * afterwards. Merged into the previous frame when that is a Data frame of the same stream without FIN
   * or RST, `flags` is 0, and the merged payload stays within `maxFrame`.
   */
  data(flags: number, streamId: number, payload: Uint8Array, maxFrame: number): void {
    const n = payload.length;
    if (
      this.tailArena !== undefined &&
      this.tailType === FrameType.Data &&
      this.tailId === streamId &&
      flags === 0 &&
      (this.tailFlags & (Flag.FIN | Flag.RST)) === 0 &&
      this.tailLength + n <= maxFrame
    ) {
      this.tailLength += n;
      this.tailArena.writeUInt32BE(this.tailLength, this.tailAt + 8);
      this.payload(payload);
      this.queued += n;
      return;
    }
    // Header and a small payload in one reservation: the common case of small messages.
    const small = n <= COPY_LIMIT;
    const at = this.reserve(small ? HEADER_LENGTH + n : HEADER_LENGTH);
    const arena = this.arena;
    putHeader(arena, at, FrameType.Data, flags, streamId, n);
    if (small) arena.set(payload, at + HEADER_LENGTH);
    else this.payload(payload);
    this.queued += HEADER_LENGTH + n;
    this.setTail(at, FrameType.Data, flags, streamId, n);
  }

  /** Everything queued, urgent frames first, as Buffers for one write; the batch starts empty again. */
  take(): Buffer[] {
    this.closeSegment();
    if (this.arena.length - this.pos < ARENA_SIZE / 4) {
      // Start the next batch on a fresh slab: a batch of small frames that straddled two slabs would be two
      // parts, so a corked writev instead of a plain write (measured: 1 flush in 9 on the round-trip bench).
      this.arena = Buffer.allocUnsafeSlow(ARENA_SIZE);
      this.segStart = 0;
      this.pos = 0;
    }
    const out = this.urgentParts.length === 0 ? this.parts : this.urgentParts.concat(this.parts);
    this.parts = [];
    this.urgentParts = [];
    this.queued = 0;
    this.tailArena = undefined;
    return out;
  }

  /** Remembers the frame just queued at `at` in the current arena as the batch's tail. */
  private setTail(at: number, type: number, flags: number, streamId: number, length: number): void {
    if (streamId === 0) {
      this.tailArena = undefined;
      return;
    }
    this.tailArena = this.arena;
    this.tailAt = at;
    this.tailId = streamId;
    this.tailType = type;
    this.tailFlags = flags;
    this.tailLength = length;
  }

  private payload(p: Uint8Array): void {
    const n = p.length;
    if (n === 0) return;
    if (n <= COPY_LIMIT) {
      const at = this.reserve(n);
      this.arena.set(p, at);
      return;
    }
    this.closeSegment();
    this.parts.push(Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, n));
  }

  /** Room for `n` bytes in the arena; returns their offset. */
  private reserve(n: number): number {
    if (this.pos + n > this.arena.length) {
      this.closeSegment();
      this.arena = Buffer.allocUnsafeSlow(Math.max(ARENA_SIZE, n));
      this.segStart = 0;
      this.pos = 0;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** Hands the arena bytes queued so far out as one part; they are never written to again. */
  private closeSegment(): void {
    if (this.pos > this.segStart) {
      this.parts.push(this.arena.subarray(this.segStart, this.pos));
      this.segStart = this.pos;
    }
  }
}
