/**
 * Record framing on a channel stream (docs/PROTOCOL.md section 4.2):
 *
 *     u32 length n (big-endian) | u8 type | n bytes: one MessagePack value
 *
 * {@link frameRecord} builds one record as a single buffer; {@link RecordParser} is a streaming parser,
 * a named-state machine that takes chunks cut anywhere and yields whole records. Pure: no I/O.
 */
import { type TransportError, transportError } from '../errors.js';

/** Bytes before the body: the length (4) and the type (1). */
export const RECORD_HEADER_SIZE = 5;

/** The largest length the u32 field can carry, bytes. `maxMessageSize` may not exceed it. */
export const MAX_RECORD_LENGTH = 0xffff_ffff;

/** Record types. Any other value resets the stream (`DECODE_ERROR`). */
export const RecordType = {
  /** The body is one message. */
  MESSAGE: 0x00,
  /** The body is `{ code, message, details? }`; the last record of the channel. */
  ERROR: 0x01,
} as const;

export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** One parsed record. `body` may be a view into a chunk given to {@link RecordParser.push}. */
export interface ChannelRecord {
  readonly type: RecordType;
  readonly body: Uint8Array;
}

/**
 * One record, header and body in one new buffer (so the multiplexer gets a single write).
 * Throws MESSAGE_TOO_LARGE when the body does not fit the u32 length field.
 */
export function frameRecord(type: RecordType, body: Uint8Array): Uint8Array {
  if (body.length > MAX_RECORD_LENGTH) {
    throw transportError(
      'MESSAGE_TOO_LARGE',
      `record body of ${body.length} bytes does not fit a u32 length`,
    );
  }
  const out = new Uint8Array(RECORD_HEADER_SIZE + body.length);
  writeRecordHeader(out, type, body.length);
  out.set(body, RECORD_HEADER_SIZE);
  return out;
}

/** Records up to this many bytes are cut from a shared slab by {@link frameRecordPooled}. */
export const POOLED_RECORD_MAX = 1024;
/** Size of one slab, bytes. */
const SLAB_SIZE = 16 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

/**
 * {@link frameRecord} for the send path, of the first `length` bytes of `source`: a small record is a view into a shared 16 KiB slab instead of a
 * buffer of its own (a view is ~96 bytes of heap, a new Uint8Array ~256, for the 40-60 byte records of a
 * call). Regions are never reused: a slab is dropped when full and freed once no record from it is alive,
 * and records live only until the multiplexer has sent them. Same errors as frameRecord.
 */
export function frameRecordPooled(type: RecordType, source: Uint8Array, length: number): Uint8Array {
  const n = RECORD_HEADER_SIZE + length;
  if (n > POOLED_RECORD_MAX) return frameRecord(type, source.subarray(0, length));
  if (slabUsed + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7; // 8-byte aligned, so no two records share a word
  writeRecordHeader(out, type, length);
  // A byte loop rather than set(source.subarray(...)): at most ~1 KiB, and no view to allocate.
  for (let i = 0; i < length; i++) out[RECORD_HEADER_SIZE + i] = source[i]!;
  return out;
}

/** Write the 5-byte header at the start of `out` (which must have room for it). */
export function writeRecordHeader(out: Uint8Array, type: RecordType, length: number): void {
  out[0] = (length >>> 24) & 0xff;
  out[1] = (length >>> 16) & 0xff;
  out[2] = (length >>> 8) & 0xff;
  out[3] = length & 0xff;
  out[4] = type;
}

/** The states of {@link RecordParser}. */
export const ParserState = {
  /** Collecting the 5 header bytes. */
  HEADER: 'HEADER',
  /** Collecting the body whose length the header gave. */
  BODY: 'BODY',
  /** A bad header was seen; every later push returns the same error. */
  FAILED: 'FAILED',
} as const;

export type ParserState = (typeof ParserState)[keyof typeof ParserState];

/** Where {@link RecordParser.feed} hands each record. */
export interface RecordSink {
  /**
   * One whole record: its body is `bytes[start, start + length)`, where `bytes` is the chunk given to
   * feed() (no view is made for it) or the parser's own buffer for a body that spanned chunks. Valid
   * during the call only, as far as the parser is concerned. Return false to stop reading this chunk.
   */
  record(type: RecordType, bytes: Uint8Array, start: number, length: number): boolean;
}

/** What one {@link RecordParser.push} produced: the records completed, and the error that stopped it, if any. */
export interface ParseResult {
  readonly records: ChannelRecord[];
  readonly error: TransportError | undefined;
}

/**
 * Streaming record parser. Feed it the stream's bytes in any chunking; it returns every record completed by
 * each chunk, in order. It never throws: a length above `maxMessageSize` (MESSAGE_TOO_LARGE) or an unknown
 * type (DECODE_ERROR) is returned as `error`, checked as soon as the header is complete (before buffering
 * the body), and the parser stays FAILED.
 *
 * A body that lies inside one chunk is returned as a view of that chunk (no copy); a body that spans chunks
 * is copied once into a buffer of its exact size, allocated when its header is read.
 */
export class RecordParser {
  private stateValue: ParserState = ParserState.HEADER;
  /** A header split across chunks; made when first needed (most headers lie inside one chunk). */
  private header: Uint8Array | undefined;
  private headerFill = 0;
  private bodyType: RecordType = RecordType.MESSAGE;
  private bodyLength = 0;
  /** Allocated only when a body spans chunks. */
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private failure: TransportError | undefined;

  /** @param maxMessageSize the largest body accepted, bytes. */
  constructor(private readonly maxMessageSize: number) {}

  get state(): ParserState {
    return this.stateValue;
  }

  /** True when no record is partly received (a FIN here is a clean end). */
  get idle(): boolean {
    return this.stateValue === ParserState.HEADER && this.headerFill === 0;
  }

  /** Bytes held for an incomplete record (a header fragment or the received part of a spanning body). */
  get buffered(): number {
    return this.stateValue === ParserState.BODY ? this.bodyFill : this.headerFill;
  }

  push(chunk: Uint8Array): ParseResult {
    const records: ChannelRecord[] = [];
    const error = this.feed(chunk, {
      record(type, bytes, start, length) {
        // A plain Uint8Array view even when the chunk is a Buffer.
        records.push({ type, body: new Uint8Array(bytes.buffer, bytes.byteOffset + start, length) });
        return true;
      },
    });
    return { records, error };
  }

  /**
   * Like {@link push}, but hands each record to `sink` as it completes (no arrays, no record objects), and
   * stops when the sink returns false (the rest of the chunk is dropped: the caller is done with the
   * stream). Returns the parser's error, if it is FAILED.
   */
  feed(chunk: Uint8Array, sink: RecordSink): TransportError | undefined {
    return this.feedAt(chunk, 0, chunk.length, sink);
  }

  /** {@link feed} of the bytes `chunk[start, end)` (no view made); nothing outside them is read. */
  feedAt(chunk: Uint8Array, start: number, end: number, sink: RecordSink): TransportError | undefined {
    let pos = start;
    while (pos < end && this.stateValue !== ParserState.FAILED) {
      if (this.stateValue === ParserState.HEADER) {
        if (this.headerFill === 0 && end - pos >= RECORD_HEADER_SIZE) {
          this.readHeader(chunk, pos); // fast path: the whole header is in this chunk
          pos += RECORD_HEADER_SIZE;
        } else {
          if (this.header === undefined) this.header = new Uint8Array(RECORD_HEADER_SIZE);
          const header = this.header;
          const n = Math.min(RECORD_HEADER_SIZE - this.headerFill, end - pos);
          header.set(chunk.subarray(pos, pos + n), this.headerFill);
          this.headerFill += n;
          pos += n;
          if (this.headerFill < RECORD_HEADER_SIZE) break;
          this.headerFill = 0;
          this.readHeader(header, 0);
        }
        // A valid MessagePack body is never empty, but the framing allows it; the decoder rejects it.
        if (this.state === ParserState.BODY && this.bodyLength === 0 && !this.emit(sink, EMPTY, 0)) break;
      } else if (this.bodyFill === 0 && end - pos >= this.bodyLength) {
        // Fast path: the whole body is in this chunk; hand out where it is (no view).
        const start = pos;
        pos += this.bodyLength;
        if (!this.emit(sink, chunk, start)) break;
      } else {
        this.body ??= new Uint8Array(this.bodyLength);
        const n = Math.min(this.bodyLength - this.bodyFill, end - pos);
        this.body.set(chunk.subarray(pos, pos + n), this.bodyFill);
        this.bodyFill += n;
        pos += n;
        if (this.bodyFill === this.bodyLength && !this.emit(sink, this.body, 0)) break;
      }
    }
    return this.failure;
  }

  /** The record (`bodyLength` bytes at `start` of `bytes`) is whole: back to HEADER, then hand it out. */
  private emit(sink: RecordSink, bytes: Uint8Array, start: number): boolean {
    this.body = undefined;
    this.bodyFill = 0;
    this.stateValue = ParserState.HEADER;
    return sink.record(this.bodyType, bytes, start, this.bodyLength);
  }

  /** Parse a complete header at `bytes[at]`: go to BODY, or to FAILED with the error. */
  private readHeader(bytes: Uint8Array, at: number): void {
    const length =
      ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
    const type = bytes[at + 4]!;
    if (length > this.maxMessageSize) {
      this.fail(
        transportError(
          'MESSAGE_TOO_LARGE',
          `record of ${length} bytes is above maxMessageSize (${this.maxMessageSize} bytes)`,
        ),
      );
    } else if (type !== RecordType.MESSAGE && type !== RecordType.ERROR) {
      this.fail(
        transportError('DECODE_ERROR', `unknown record type 0x${type.toString(16).padStart(2, '0')}`),
      );
    } else {
      this.bodyType = type;
      this.bodyLength = length;
      this.stateValue = ParserState.BODY;
    }
  }

  private fail(err: TransportError): void {
    this.failure = err;
    this.stateValue = ParserState.FAILED;
    this.body = undefined;
  }

  /** Back to the start state (HEADER, nothing buffered, no error): for a parser shared between streams. */
  reset(): void {
    this.stateValue = ParserState.HEADER;
    this.headerFill = 0;
    this.body = undefined;
    this.bodyFill = 0;
    this.failure = undefined;
  }
}

/**
 * True when `chunk` is exactly a run of whole records (by their length fields; types and limits are the
 * parser's to check): a stream with no record in progress can then be parsed by a shared parser, which
 * ends where it started, with no state left for that stream.
 */
export function holdsWholeRecords(chunk: Uint8Array, start = 0, end = chunk.length): boolean {
  let pos = start;
  while (pos + RECORD_HEADER_SIZE <= end) {
    const length =
      ((chunk[pos]! << 24) | (chunk[pos + 1]! << 16) | (chunk[pos + 2]! << 8) | chunk[pos + 3]!) >>> 0;
    pos += RECORD_HEADER_SIZE + length;
  }
  return pos === end && end > start;
}

const EMPTY = new Uint8Array(0);
