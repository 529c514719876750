/**
 * The session's read loop: a named-state parser that turns incoming byte chunks into frames.
 *
 * It knows only the header layout and that Data frames carry `length` payload bytes; what a frame
 * means, and whether it is allowed, is decided by the {@link FrameSink} (the session). The sink judges
 * each header before any payload byte is buffered, so a peer cannot make the reader hold more than the
 * sink agreed to.
 *
 * Payloads are never copied: the sink gets each payload as one or more pieces, each a range of the
 * chunk it arrived in (Node hands out a fresh Buffer per socket read, so keeping it is safe); a sink that
 * takes offsets (the session) gets no view object at all. A payload
 * that spans socket reads arrives as one piece per read. Measured on the mux benchmark: Node reads 64 KiB
 * per socket read, so nearly every 64 KiB Data frame spans two reads, and assembling it (allocation, copy,
 * GC) cost 15-20% of the receiver's time.
 */
import { FrameType, getUint32, HEADER_LENGTH } from './frame.js';

/** What the sink wants done with the frame whose header it just saw. */
export const Verdict = {
  /** Go on with the next frame; a Data payload, if any, is skipped unread. */
  Next: 0,
  /** Deliver the Data payload (length > 0) through onPayload, then go on. */
  Payload: 1,
  /** Stop parsing for good (the session is closing); everything after is ignored. */
  Stop: 2,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** The receiver of parsed frames. It must not throw: bad input is its verdict, not an exception. */
export interface FrameSink {
  /** Every header, in wire order. Only Data frames have a payload; for other types the verdict Payload means Next. */
  onHeader(version: number, type: number, flags: number, streamId: number, length: number): Verdict;
  /**
   * The next piece (never empty) of the payload of the Data frame whose header got {@link Verdict.Payload},
   * in order; `last` is true on the piece that completes it. The sink owns the piece (a view of a socket
   * chunk). A sink may stop the reader from here.
   */
  onPayload(piece: Buffer, last: boolean): void;
  /**
   * Optional, called instead of onPayload when present: the same piece as the bytes `chunk[start, end)`
   * of the socket chunk, so that no view object is made unless the sink needs one. The sink owns those
   * bytes (it may keep the chunk, but the rest of it is other frames).
   */
  onPayloadAt?(chunk: Buffer, start: number, end: number, last: boolean): void;
}

/** Named states of the parser. */
export const ReadState = {
  /** Collecting the 12 header bytes (possibly across chunks). */
  Header: 0,
  /** Delivering a payload the sink wants, piece by piece. */
  Payload: 1,
  /** Skipping a payload the sink does not want. */
  Discard: 2,
  /** Stopped for good. */
  Stopped: 3,
} as const;
export type ReadState = (typeof ReadState)[keyof typeof ReadState];

export class FrameReader {
  private state: ReadState = ReadState.Header;
  /** Header bytes when a header spans chunks. */
  private readonly head = Buffer.alloc(HEADER_LENGTH);
  private headFill = 0;
  /** Payload bytes still to deliver or skip. */
  private need = 0;

  /** The sink takes pieces as offsets (onPayloadAt). */
  private readonly offsets: boolean;

  constructor(private readonly sink: FrameSink) {
    this.offsets = sink.onPayloadAt !== undefined;
  }

  get readState(): ReadState {
    return this.state;
  }

  /** Stop parsing; later chunks are ignored. */
  stop(): void {
    this.state = ReadState.Stopped;
  }

  /** True when no frame is half-read (the byte stream may end here cleanly). */
  get atBoundary(): boolean {
    return this.state === ReadState.Header && this.headFill === 0;
  }

  /** Feeds the next chunk of the byte stream. */
  push(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      switch (this.state) {
        case ReadState.Header: {
          if (this.headFill === 0 && end - pos >= HEADER_LENGTH) {
            pos = this.header(chunk, pos, pos + HEADER_LENGTH);
          } else {
            const n = Math.min(HEADER_LENGTH - this.headFill, end - pos);
            chunk.copy(this.head, this.headFill, pos, pos + n);
            this.headFill += n;
            pos += n;
            if (this.headFill === HEADER_LENGTH) {
              this.headFill = 0;
              this.header(this.head, 0, pos);
            }
          }
          break;
        }
        case ReadState.Payload: {
          const n = Math.min(this.need, end - pos);
          this.need -= n;
          const last = this.need === 0;
          if (last) this.state = ReadState.Header;
          const at = pos;
          pos += n;
          // The sink may stop us here; the loop then ends at the Stopped state.
          if (this.offsets) this.sink.onPayloadAt!(chunk, at, pos, last);
          else this.sink.onPayload(at === 0 && pos === end ? chunk : chunk.subarray(at, pos), last);
          break;
        }
        case ReadState.Discard: {
          const n = Math.min(this.need, end - pos);
          this.need -= n;
          pos += n;
          if (this.need === 0) this.state = ReadState.Header;
          break;
        }
        default:
          return;
      }
    }
  }

  /** Decodes the header at buf[at..at+12), asks the sink, sets the next state. Returns `next` (the read position). */
  private header(buf: Buffer, at: number, next: number): number {
    const type = buf[at + 1]!;
    const length = getUint32(buf, at + 8);
    const verdict = this.sink.onHeader(
      buf[at]!,
      type,
      (buf[at + 2]! << 8) | buf[at + 3]!,
      getUint32(buf, at + 4),
      length,
    );
    // The sink may have stopped us from inside onHeader.
    if (verdict === Verdict.Stop || this.state === ReadState.Stopped) {
      this.stop();
      return next;
    }
    if (type !== FrameType.Data || length === 0) return next;
    this.need = length;
    this.state = verdict === Verdict.Payload ? ReadState.Payload : ReadState.Discard;
    return next;
  }
}
