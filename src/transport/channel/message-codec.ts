/**
 * Messages to record bytes and back, with references. One MessageCodec per channel session: it reuses one
 * MessagePack Encoder and Decoder, and points them at a per-message context through a mutable slot.
 *
 * Encoding is one pass: ends inside the message become references with a placeholder id of 0. The caller
 * then opens one stream per reference, in order, and writes each id in place with {@link fillReferenceId}:
 * nothing is opened for a message that fails to encode or is too large, and the peer never sees a stream
 * that no message names. Pure apart from the reused buffers.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import type { ChannelConfig } from './config.js';
import { decodeInPlace, supportsInPlace } from './decode-in-place.js';
import { frameRecordPooled, RECORD_HEADER_SIZE, RecordType } from './record.js';
import {
  type DecodeContext,
  type EncodeContext,
  EXT8_HEAD_SIZE,
  isReferenceExt,
  REFERENCE_PAYLOAD_SIZE,
  ReferenceCodec,
  type ReferenceSlot,
  writeReferenceId,
} from './references.js';
import { countReferences } from './scan.js';

/** A record ready to write, header and body in one buffer. */
export interface EncodedRecord {
  readonly bytes: Uint8Array;
  /** Offset in `bytes` of each reference's stream id, in the order the encode context collected the ends. */
  readonly idOffsets: readonly number[];
}

/** The body of an ERROR record. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details: unknown;
}

/** After encoding a body larger than this (bytes), the encoder is replaced so its grown buffer is freed. */
const ENCODER_KEEP_BYTES = 256 * 1024;

const codec = new ReferenceCodec();

/** Where the slot's offsets point between encodes (never written: an encode always sets its own). */
const NO_OFFSETS: number[] = [];

/**
 * True when `offsets` (payload offsets in the body, from the encoder's position) are `count` references
 * in `record`: each preceded by an ext 8 head of length 5 and type CHANNEL or BYTES. They are shifted to
 * offsets in the record in place.
 */
function offsetsHold(record: Uint8Array, offsets: number[], count: number): boolean {
  if (offsets.length !== count) return false;
  for (let i = 0; i < count; i++) {
    const at = offsets[i]! + RECORD_HEADER_SIZE;
    const type = record[at - 1];
    if (
      at + REFERENCE_PAYLOAD_SIZE > record.length ||
      record[at - EXT8_HEAD_SIZE] !== 0xc7 ||
      record[at - 2] !== REFERENCE_PAYLOAD_SIZE ||
      type === undefined ||
      !isReferenceExt(type)
    ) {
      return false;
    }
  }
  for (let i = 0; i < count; i++) offsets[i] = offsets[i]! + RECORD_HEADER_SIZE;
  return true;
}

export class MessageCodec {
  private readonly slot: ReferenceSlot = {
    encode: undefined,
    decode: undefined,
    count: 0,
    encoder: undefined,
    offsets: [],
  };
  private encoder: Encoder<ReferenceSlot>;
  private readonly decoder: Decoder<ReferenceSlot>;
  /** The decoder exposes what decode-in-place.ts needs (checked once). */
  private readonly inPlace: boolean;

  constructor(private readonly config: ChannelConfig) {
    this.encoder = this.makeEncoder();
    this.decoder = new Decoder<ReferenceSlot>({
      extensionCodec: codec,
      context: this.slot,
      useBigInt64: true,
    });
    this.inPlace = supportsInPlace(this.decoder);
  }

  /**
   * Encode `value` as one record of `type`. `ctx` sees every non-primitive value and collects the ends.
   * Throws TransportError: ENCODE_ERROR (a value MessagePack cannot carry, an end that cannot be sent),
   * REFERENCE_LIMIT (too deep, too many references), MESSAGE_TOO_LARGE (body above maxMessageSize).
   */
  encodeRecord(type: RecordType, value: unknown, ctx: EncodeContext): EncodedRecord {
    const idOffsets: number[] = [];
    const bytes = this.encodeInto(type, value, ctx, idOffsets);
    return { bytes, idOffsets };
  }

  /**
   * {@link encodeRecord} without the result object: returns the record's bytes and appends the offset of
   * each reference's stream id to `idOffsets` (which it empties first). Throws like encodeRecord.
   *
   * The offsets come from the encoder's write position when the codec met each end, checked against the
   * bytes (an ext 8 head of the right type must precede each); if the encoder does not expose its position
   * or a check fails, a scan of the body finds them instead. Either way the count must match.
   */
  encodeInto(type: RecordType, value: unknown, ctx: EncodeContext, idOffsets: number[]): Uint8Array {
    while (idOffsets.length !== 0) idOffsets.pop(); // not `length = 0`: see empty() in binding.ts
    let length: number;
    const slot = this.slot;
    const encoder = this.encoder;
    slot.encode = ctx;
    slot.count = 0;
    slot.encoder = encoder as unknown as ReferenceSlot['encoder'];
    slot.offsets = idOffsets;
    try {
      length = encodeBody(encoder, value);
    } catch (err) {
      throw encodeFailure(err, this.config.maxNestingDepth);
    } finally {
      slot.encode = undefined;
      slot.encoder = undefined;
      slot.offsets = NO_OFFSETS;
    }
    try {
      // Read the encoder's bytes before shrink() replaces it.
      return this.frame(type, encodedBytes(encoder), length, slot.count, idOffsets);
    } finally {
      this.shrink(length);
    }
  }

  /**
   * The record of the `length`-byte body at the start of `source`, which carries `count` references whose
   * id offsets (in the body) are in `idOffsets`: checked, and made offsets in the record. Throws
   * MESSAGE_TOO_LARGE, or ENCODE_ERROR when the references cannot be found.
   */
  private frame(
    type: RecordType,
    source: Uint8Array,
    length: number,
    count: number,
    idOffsets: number[],
  ): Uint8Array {
    if (length > this.config.maxMessageSize) {
      throw transportError(
        'MESSAGE_TOO_LARGE',
        `message of ${length} bytes is above maxMessageSize (${this.config.maxMessageSize} bytes)`,
      );
    }
    // The one copy (the encoders' buffers are reused).
    const bytes = frameRecordPooled(type, source, length);
    if (count === 0) return bytes; // no reference: the codec pushed no offset
    if (!offsetsHold(bytes, idOffsets, count)) {
      idOffsets.length = 0;
      const found = countReferences(bytes.subarray(RECORD_HEADER_SIZE), Infinity, Infinity, (offset) => {
        idOffsets.push(RECORD_HEADER_SIZE + offset);
      });
      if (found !== count) {
        throw transportError('ENCODE_ERROR', `found ${found} references, encoded ${count}`);
      }
    }
    return bytes;
  }

  /** An ERROR record. `ctx` must reject ends (an error carries no references). Throws like encodeRecord. */
  encodeErrorRecord(code: string, message: string, details: unknown, ctx: EncodeContext): EncodedRecord {
    const body: Record<string, unknown> = { code, message };
    if (details !== undefined) body.details = details;
    return this.encodeRecord(RecordType.ERROR, body, ctx);
  }

  /**
   * Decode a MESSAGE body. The limits are checked on the bytes first (scan.ts), so nothing is built or
   * claimed for a message that breaks them; then @msgpack/msgpack's Decoder decodes it in place
   * (decode-in-place.ts), claiming each reference through `ctx`. Throws TransportError: DECODE_ERROR,
   * REFERENCE_LIMIT, or what `ctx.claim` throws (BAD_REFERENCE).
   */
  decodeBody(body: Uint8Array, ctx: DecodeContext | undefined): unknown {
    countReferences(body, this.config.maxNestingDepth, this.config.maxReferencesPerMessage);
    this.slot.decode = ctx;
    try {
      // The scan above checked that the body is exactly one well-formed value, as decodeInPlace requires.
      return decodeInPlace(this.decoder, body, this.inPlace);
    } catch (err) {
      if (isTransportError(err)) throw err;
      throw transportError('DECODE_ERROR', `message is not valid MessagePack: ${messageOf(err)}`, {
        cause: err,
      });
    } finally {
      this.slot.decode = undefined;
    }
  }

  /** {@link decodeBody} of the body `bytes[start, start + length)`. Throws the same. */
  decodeBodyAt(bytes: Uint8Array, start: number, length: number, ctx: DecodeContext | undefined): unknown {
    return this.decodeBody(bytes.subarray(start, start + length), ctx);
  }

  /** Decode an ERROR body. Throws DECODE_ERROR when it is not `{ code: string, message: string, ... }`,
   *  BAD_REFERENCE when it carries a reference. */
  decodeErrorBody(body: Uint8Array): ErrorBody {
    const value = this.decodeBody(body, undefined);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw transportError('DECODE_ERROR', 'error record body is not a map');
    }
    const { code, message, details } = value as Record<string, unknown>;
    if (typeof code !== 'string' || typeof message !== 'string') {
      throw transportError('DECODE_ERROR', 'error record needs a string code and a string message');
    }
    return { code, message, details };
  }

  private makeEncoder(): Encoder<ReferenceSlot> {
    return new RangeCheckedEncoder({
      extensionCodec: codec,
      context: this.slot,
      useBigInt64: true,
      maxDepth: this.config.maxNestingDepth,
    });
  }

  private shrink(bodyLength: number): void {
    if (bodyLength > ENCODER_KEEP_BYTES) this.encoder = this.makeEncoder();
  }
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * @msgpack/msgpack writes a bigint with DataView.setBigInt64/setBigUint64, which wrap values outside 64
 * bits silently. This subclass checks the range first (ENCODE_ERROR). It hooks the encoder's own
 * `encodeBigInt64` method, which is not part of its typed API: message-codec.spec.ts pins the behaviour,
 * so a library change that bypasses the hook fails a spec instead of corrupting data.
 */
class RangeCheckedEncoder extends Encoder<ReferenceSlot> {}
{
  const proto = Encoder.prototype as unknown as { encodeBigInt64?: (value: bigint) => void };
  const original = proto.encodeBigInt64;
  if (typeof original === 'function') {
    (RangeCheckedEncoder.prototype as unknown as typeof proto).encodeBigInt64 = function (value: bigint) {
      if (value < INT64_MIN || value > UINT64_MAX) {
        throw transportError('ENCODE_ERROR', `bigint ${value} does not fit in 64 bits`);
      }
      original.call(this, value);
    };
  }
}

/**
 * The encoder's internals used to encode in place: `encodeSharedRef` returns a new subarray view of the
 * encoder's buffer for every message (~96 bytes of heap), when the caller only needs the buffer and the
 * length. Not part of the library's typed API, so checked once: {@link encodeBody} falls back to
 * `encodeSharedRef` when they are missing. The round-trip and vector specs pin the result.
 */
interface InPlaceEncoder {
  entered: boolean;
  pos: number;
  bytes: Uint8Array;
  doEncode(value: unknown, depth: number): void;
}

const IN_PLACE = typeof (Encoder.prototype as unknown as Partial<InPlaceEncoder>).doEncode === 'function';

/** Encode `value` into the encoder's buffer; returns the body's length (the body is at offset 0). */
function encodeBody(encoder: Encoder<ReferenceSlot>, value: unknown): number {
  const e = encoder as unknown as InPlaceEncoder;
  if (!IN_PLACE || e.entered !== false || typeof e.pos !== 'number') {
    const body = encoder.encodeSharedRef(value);
    lastShared = body;
    return body.length;
  }
  lastShared = undefined;
  // What encodeSharedRef does, minus its subarray: `entered` makes a nested encode use a clone.
  e.entered = true;
  try {
    e.pos = 0;
    e.doEncode(value, 1);
    return e.pos;
  } finally {
    e.entered = false;
  }
}

/** The body encodeSharedRef returned, when {@link encodeBody} had to use it. */
let lastShared: Uint8Array | undefined;

/** The buffer holding the body {@link encodeBody} just encoded, from offset 0. */
function encodedBytes(encoder: Encoder<ReferenceSlot>): Uint8Array {
  return lastShared ?? (encoder as unknown as InPlaceEncoder).bytes;
}

/** Write stream `id` into the placeholder at `offset` (from {@link EncodedRecord.idOffsets}). */
export function fillReferenceId(record: EncodedRecord, index: number, id: number): void {
  writeReferenceId(record.bytes, record.idOffsets[index]!, id);
}

/** The encoder throws plain Errors; give them a code. Its depth error is the only one with a limit meaning. */
function encodeFailure(err: unknown, maxDepth: number): TransportError {
  if (isTransportError(err)) return err;
  // @msgpack/msgpack reports its maxDepth as "Too deep objects in depth N"; matching its text is the only way
  // to tell it from other failures, and a miss only changes REFERENCE_LIMIT into ENCODE_ERROR.
  if (/too deep/i.test(messageOf(err))) {
    return transportError('REFERENCE_LIMIT', `message nested deeper than maxNestingDepth (${maxDepth})`, {
      cause: err,
    });
  }
  return transportError('ENCODE_ERROR', `message cannot be encoded: ${messageOf(err)}`, { cause: err });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
