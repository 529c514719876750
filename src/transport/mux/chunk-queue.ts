/**
 * A FIFO of byte chunks with a running byte count: a stream's unsent writes and its undelivered reads.
 * Chunks are never copied; taking part of a chunk hands out a view of it. Amortised O(1) per operation
 * (a head index instead of Array.shift, compacted as it goes).
 */
export class ChunkQueue {
  private readonly items: (Uint8Array | undefined)[] = [];
  private head = 0;
  /** Bytes already taken from the chunk at `head`. */
  private offset = 0;
  private count = 0;

  /** Bytes in the queue. */
  get bytes(): number {
    return this.count;
  }

  get isEmpty(): boolean {
    return this.head === this.items.length;
  }

  push(chunk: Uint8Array): void {
    this.items.push(chunk);
    this.count += chunk.length;
  }

  /**
   * Removes up to `max` bytes from the front and returns them as one view of the first chunk (never
   * spanning two chunks). undefined when empty.
   */
  take(max: number): Uint8Array | undefined {
    if (this.isEmpty) return undefined;
    const chunk = this.items[this.head]!;
    const n = Math.min(chunk.length - this.offset, max);
    const part =
      this.offset === 0 && n === chunk.length ? chunk : chunk.subarray(this.offset, this.offset + n);
    this.offset += n;
    this.count -= n;
    if (this.offset === chunk.length) this.advance();
    return part;
  }

  /** Removes and returns what is left of the first chunk; undefined when empty. */
  shift(): Uint8Array | undefined {
    return this.take(Number.POSITIVE_INFINITY);
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
    this.offset = 0;
    this.count = 0;
  }

  private advance(): void {
    this.items[this.head++] = undefined;
    this.offset = 0;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }
}
