/**
 * Messages to record bytes and back, with references. One MessageCodec per channel session: it reuses one
 * MessagePack Encoder and Decoder, and points them at a per-message context through a mutable slot.
 *
 * Encoding is one pass: ends inside the message become references with a placeholder id of 0. The caller
 * then opens one stream per reference, in order, and writes each id in place with {@link fillReferenceId}:
 * nothing is opened for a message that fails to encode or is too large, and the peer never sees a stream
 * that no message names. Pure apart from the reused buffers.
 *
 * @msgpack/msgpack is used through its public API only (Encoder.encodeSharedRef, Decoder.decode, the
 * extension codec and key decoder options). What it does not do is done around it: the range of a bigint
 * (checked after the encode, see {@link BigIntCheck}), 64-bit integers decoded as numbers when they are
 * safe, and `__proto__` keys (see {@link normalize}).
 */
import {
  Decoder,
  type DecoderOptions,
  Encoder,
  type ExtData,
  type ExtensionCodecType,
} from '@msgpack/msgpack';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import type { ChannelConfig } from './config.js';
import { Preface } from './preface.js';
import { frameRecordPooled, RECORD_HEADER_SIZE, RecordType } from './record.js';
import {
  type DecodeContext,
  type EncodeContext,
  ExtType,
  isReferenceExt,
  REFERENCE_PAYLOAD_SIZE,
  ReferenceCodec,
  type ReferenceSlot,
  writeReferenceId,
} from './references.js';
import { countReferences, isProtoAt, SAW_INT64, SAW_PROTO, scannedFeatures } from './scan.js';

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

/** The head of a reference placeholder: ext 8 (0xc7), payload length 5; then the type, id 0, preface. */
const EXT8 = 0xc7;
const PLACEHOLDER_SIZE = 3 + REFERENCE_PAYLOAD_SIZE;

/** Bodies up to this many bytes are searched by a loop (a native indexOf costs more per call). */
const SHORT_BODY = 256;

/** True when a placeholder (id 0, a preface of its ext type) starts at `at` of `bytes`. */
function isPlaceholder(bytes: Uint8Array, at: number): boolean {
  if (at + PLACEHOLDER_SIZE > bytes.length || bytes[at + 1] !== REFERENCE_PAYLOAD_SIZE) return false;
  const type = bytes[at + 2];
  const preface = bytes[at + 7]!;
  if (bytes[at + 3] !== 0 || bytes[at + 4] !== 0 || bytes[at + 5] !== 0 || bytes[at + 6] !== 0) return false;
  if (type === ExtType.BYTES) return preface === Preface.BYTES_SEND || preface === Preface.BYTES_RECV;
  // CHANNEL, or a tagged channel reference (4.3).
  return isReferenceExt(type!) && (preface === Preface.NESTED_SEND || preface === Preface.NESTED_RECV);
}

/**
 * Appends to `idOffsets` the id offset of every placeholder in the body of `record`, found by their bytes
 * (a search for 0xc7, then the 8-byte pattern). Every placeholder the encoder wrote is there, so
 * finding exactly `count` means none of them is user data that happens to look like one (two cannot
 * overlap: no byte of the pattern after the first is 0xc7). Returns false when more are found.
 */
function findPlaceholders(record: Uint8Array, count: number, idOffsets: number[]): boolean {
  let at = nextExt8(record, RECORD_HEADER_SIZE);
  while (at >= 0) {
    if (isPlaceholder(record, at)) {
      if (idOffsets.length === count) return false;
      idOffsets.push(at + 3);
      at = nextExt8(record, at + PLACEHOLDER_SIZE);
    } else {
      at = nextExt8(record, at + 1);
    }
  }
  return idOffsets.length === count;
}

/** The offset of the next 0xc7 in `bytes` from `from`, or -1. */
function nextExt8(bytes: Uint8Array, from: number): number {
  if (bytes.length - from > SHORT_BODY) return bytes.indexOf(EXT8, from);
  for (let i = from; i < bytes.length; i++) if (bytes[i] === EXT8) return i;
  return -1;
}

/** True when `bytes` holds a byte that may be the head of an int 64 or uint 64 (or it is other data). */
function mayHoldInt64(bytes: Uint8Array): boolean {
  if (bytes.length > SHORT_BODY) return bytes.indexOf(0xcf) >= 0 || bytes.indexOf(0xd3) >= 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0xcf || b === 0xd3) return true;
  }
  return false;
}

/** A list of noted objects longer than this is dropped after the encode rather than emptied. */
const NOTED_KEEP = 1024;

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function checkBigInt(value: bigint): void {
  if (value < INT64_MIN || value > UINT64_MAX) {
    throw transportError('ENCODE_ERROR', `bigint ${value} does not fit in 64 bits`);
  }
}

/**
 * The encoder's extension codec: the channel {@link ReferenceCodec}, noting every object it leaves to the
 * encoder (which then writes it as an array, a map or a binary). @msgpack/msgpack writes a bigint with
 * DataView.setBigInt64/setBigUint64, which wrap values outside 64 bits silently; a bigint is only ever
 * written as an item of such an object (or as the whole message), so after an encode whose bytes may hold
 * a 64-bit integer, {@link check} reads the items of the noted objects again (ENCODE_ERROR for one out of
 * range). An item whose getter changes its value between the encoder's read and this one is not covered.
 */
class BigIntCheck implements ExtensionCodecType<ReferenceSlot> {
  private noted: unknown[] = [];
  private count = 0;

  tryToEncode(object: unknown, slot: ReferenceSlot): ExtData | null {
    const ext = codec.tryToEncode(object, slot);
    if (ext === null) this.noted[this.count++] = object;
    return ext;
  }

  decode(data: Uint8Array, extType: number, slot: ReferenceSlot): unknown {
    return codec.decode(data, extType, slot);
  }

  /** Throws ENCODE_ERROR for a bigint outside 64 bits among the items of the objects noted since clear(). */
  check(): void {
    for (let i = 0; i < this.count; i++) {
      const object = this.noted[i];
      if (Array.isArray(object)) {
        for (const item of object) if (typeof item === 'bigint') checkBigInt(item);
      } else if (typeof object === 'object' && object !== null && !ArrayBuffer.isView(object)) {
        const map = object as Record<string, unknown>;
        for (const key of Object.keys(map)) {
          const item = map[key];
          if (typeof item === 'bigint') checkBigInt(item);
        }
      }
    }
  }

  /** Forget the noted objects (so none is kept alive by the codec), and a list grown for a large message. */
  clear(): void {
    if (this.count > NOTED_KEEP) {
      this.noted = [];
    } else {
      for (let i = 0; i < this.count; i++) this.noted[i] = undefined;
    }
    this.count = 0;
  }
}

export class MessageCodec {
  /** No `encoder` in the slot: the reference codec then records no offsets (they are found by bytes). */
  private readonly slot: ReferenceSlot = { encode: undefined, decode: undefined, count: 0 };
  private readonly bigInts = new BigIntCheck();
  private encoder: Encoder<ReferenceSlot>;
  private readonly decoder: Decoder<ReferenceSlot>;
  /** For bodies that hold the bytes of `__proto__`; made when first needed. */
  private protoDecoder: Decoder<ReferenceSlot> | undefined;

  constructor(private readonly config: ChannelConfig) {
    this.encoder = this.makeEncoder();
    this.decoder = this.makeDecoder(undefined);
  }

  /**
   * Encode `value` as one record of `type`. `ctx` sees every non-primitive value and collects the ends.
   * Throws TransportError: ENCODE_ERROR (a value MessagePack cannot carry, a bigint outside 64 bits, an end
   * that cannot be sent), REFERENCE_LIMIT (too deep, too many references), MESSAGE_TOO_LARGE (body above
   * maxMessageSize).
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
   * The offsets are found in the record's bytes: by the placeholders' byte pattern, or, when user data
   * looks like a placeholder too, by a structural scan of the body. Either way the count must match.
   */
  encodeInto(type: RecordType, value: unknown, ctx: EncodeContext, idOffsets: number[]): Uint8Array {
    while (idOffsets.length !== 0) idOffsets.pop(); // not `length = 0`: see empty() in binding.ts
    const slot = this.slot;
    const bigInts = this.bigInts;
    slot.encode = ctx;
    slot.count = 0;
    let body: Uint8Array;
    try {
      if (typeof value === 'bigint') checkBigInt(value);
      // A view of the encoder's buffer, valid until its next encode: frame() copies it.
      body = this.encoder.encodeSharedRef(value);
      if (mayHoldInt64(body)) bigInts.check();
    } catch (err) {
      throw encodeFailure(err, this.config.maxNestingDepth);
    } finally {
      slot.encode = undefined;
      bigInts.clear();
    }
    try {
      return this.frame(type, body, slot.count, idOffsets);
    } finally {
      this.shrink(body.length);
    }
  }

  /**
   * The record of `body`, which carries `count` references: their id offsets in the record go to
   * `idOffsets`. Throws MESSAGE_TOO_LARGE, or ENCODE_ERROR when the references cannot be found.
   */
  private frame(type: RecordType, body: Uint8Array, count: number, idOffsets: number[]): Uint8Array {
    if (body.length > this.config.maxMessageSize) {
      throw transportError(
        'MESSAGE_TOO_LARGE',
        `message of ${body.length} bytes is above maxMessageSize (${this.config.maxMessageSize} bytes)`,
      );
    }
    // The one copy (the encoder's buffer is reused).
    const bytes = frameRecordPooled(type, body, body.length);
    if (count === 0 || findPlaceholders(bytes, count, idOffsets)) return bytes;
    while (idOffsets.length !== 0) idOffsets.pop();
    const found = countReferences(bytes.subarray(RECORD_HEADER_SIZE), Infinity, Infinity, (offset) => {
      idOffsets.push(RECORD_HEADER_SIZE + offset);
    });
    if (found !== count) {
      throw transportError('ENCODE_ERROR', `found ${found} references, encoded ${count}`);
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
   * claimed for a message that breaks them; then @msgpack/msgpack's Decoder decodes exactly the body (no
   * byte outside it is read), claiming each reference through `ctx`. An int 64 / uint 64 that is a safe
   * integer becomes a number, and a `__proto__` key an own property (see {@link normalize}). Throws
   * TransportError: DECODE_ERROR, REFERENCE_LIMIT, or what `ctx.claim` throws (BAD_REFERENCE).
   */
  decodeBody(body: Uint8Array, ctx: DecodeContext | undefined): unknown {
    countReferences(body, this.config.maxNestingDepth, this.config.maxReferencesPerMessage);
    const seen = scannedFeatures();
    this.slot.decode = ctx;
    try {
      const proto = (seen & SAW_PROTO) !== 0;
      const value = (proto ? this.protoSafeDecoder() : this.decoder).decode(plain(body));
      return (seen & (SAW_INT64 | SAW_PROTO)) !== 0 ? normalize(value) : value;
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
    return this.decodeBody(new Uint8Array(bytes.buffer, bytes.byteOffset + start, length), ctx);
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
    return new Encoder<ReferenceSlot>({
      extensionCodec: this.bigInts,
      context: this.slot,
      useBigInt64: true,
      maxDepth: this.config.maxNestingDepth,
    });
  }

  private makeDecoder(keyDecoder: KeyDecoder | undefined): Decoder<ReferenceSlot> {
    return new Decoder<ReferenceSlot>({
      extensionCodec: codec,
      context: this.slot,
      useBigInt64: true,
      ...(keyDecoder === undefined ? {} : { keyDecoder }),
    });
  }

  private protoSafeDecoder(): Decoder<ReferenceSlot> {
    this.protoDecoder ??= this.makeDecoder(protoKeys);
    return this.protoDecoder;
  }

  private shrink(bodyLength: number): void {
    if (bodyLength > ENCODER_KEEP_BYTES) this.encoder = this.makeEncoder();
  }
}

type KeyDecoder = NonNullable<DecoderOptions<ReferenceSlot>['keyDecoder']>;

/**
 * What the decoder gives a `__proto__` map key instead (its own check refuses that key, and assigning it
 * would set the map's prototype); {@link normalize} turns it into an own property named `__proto__`. A
 * peer that sends this string as a key gets the same result, which it could have had by sending
 * `__proto__`; the random part only keeps that from happening by chance.
 */
const PROTO_MARKER = `\u0000__proto__\u0000${Math.random().toString(36).slice(2)}`;
const keyText = new TextDecoder();
/** The UTF-8 length of `__proto__`. */
const PROTO_LENGTH = 9;

/**
 * The key decoder for bodies holding the bytes of `__proto__`. It sees only 9-byte string keys (the
 * library decodes the others itself); those other than `__proto__` are decoded with TextDecoder.
 */
const protoKeys: KeyDecoder = {
  canBeCached: (byteLength) => byteLength === PROTO_LENGTH,
  decode: (bytes, at, byteLength) =>
    isProtoAt(bytes, at) ? PROTO_MARKER : keyText.decode(bytes.subarray(at, at + byteLength)),
};

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A decoded value made what docs/PROTOCOL.md 4.3 says, in place: a bigint (an int 64 / uint 64) that is
 * a safe integer becomes a number, and a {@link PROTO_MARKER} key an own property `__proto__` (the other
 * keys keep their order). Enters arrays and maps only: a claimed end, a Date, binary or ExtData is never
 * a plain object. Depth is bounded by the scan that ran before the decode.
 */
function normalize(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = normalize(value[i]);
    return value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const map = value as Record<string, unknown>;
  let marked = false;
  for (const key of Object.keys(map)) {
    if (key === PROTO_MARKER) marked = true;
    const item = map[key];
    if (typeof item === 'bigint' || (typeof item === 'object' && item !== null)) map[key] = normalize(item);
  }
  if (marked) ownProto(map);
  return map;
}

/** Rebuild `map` with its {@link PROTO_MARKER} key as an own `__proto__` data property, in key order. */
function ownProto(map: Record<string, unknown>): void {
  const entries = Object.entries(map);
  for (const [key] of entries) delete map[key];
  for (const [key, item] of entries) {
    if (key === PROTO_MARKER) {
      Object.defineProperty(map, '__proto__', {
        value: item,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else {
      map[key] = item;
    }
  }
}

/**
 * `bytes` as a plain Uint8Array view (the same memory). The decoder returns a binary value as a view of
 * the bytes it was given, of their class: a body cut from a Buffer chunk would give Buffers.
 */
function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
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
