/**
 * References inside messages (docs/PROTOCOL.md section 4.3): a Sender, Receiver, `Readable` or `Writable`
 * anywhere in a message is a MessagePack extension whose 5-byte payload is `u32 stream id | u8 preface`.
 *
 * This file is the pure part: the ext type numbers, the payload codec, and a MessagePack extension codec
 * that hands every candidate object to a per-message context. It knows nothing of sessions or streams:
 * the encode context decides whether a value is an end (and collects it to bind), the decode context
 * claims the stream a reference names.
 */
import { ExtData, ExtensionCodec, type ExtensionCodecType } from '@msgpack/msgpack';
import { transportError } from '../errors.js';
import { Preface, prefaceName } from './preface.js';

/** MessagePack extension type numbers used by channels. */
export const ExtType = {
  /** A nested channel; the payload's preface is NESTED_SEND or NESTED_RECV. */
  CHANNEL: 0x01,
  /** A byte stream; the payload's preface is BYTES_SEND or BYTES_RECV. */
  BYTES: 0x02,
} as const;

export type ExtType = (typeof ExtType)[keyof typeof ExtType];

/** Payload length of a reference: stream id (4) and preface (1). Any other length is BAD_REFERENCE. */
export const REFERENCE_PAYLOAD_SIZE = 5;

/** A decoded reference. */
export interface Reference {
  readonly ext: ExtType;
  /** The stream the sender of the message opened. */
  readonly id: number;
  /** The preface the sender of the message opened it with. */
  readonly preface: Preface;
}

/** The ext type that carries a reference to a stream opened with `preface`. CHANNEL (top-level) has none. */
export function extTypeFor(preface: Preface): ExtType {
  switch (preface) {
    case Preface.NESTED_SEND:
    case Preface.NESTED_RECV:
      return ExtType.CHANNEL;
    case Preface.BYTES_SEND:
    case Preface.BYTES_RECV:
      return ExtType.BYTES;
    default:
      throw transportError('ENCODE_ERROR', `a ${prefaceName(preface)} stream cannot be named in a message`);
  }
}

/** The 5-byte payload. */
export function encodeReferencePayload(id: number, preface: Preface): Uint8Array {
  const out = new Uint8Array(REFERENCE_PAYLOAD_SIZE);
  writeReferenceId(out, 0, id);
  out[4] = preface;
  return out;
}

/** Write a stream id into a payload that starts at `offset` of `bytes` (used to fill placeholders in place). */
export function writeReferenceId(bytes: Uint8Array, offset: number, id: number): void {
  bytes[offset] = (id >>> 24) & 0xff;
  bytes[offset + 1] = (id >>> 16) & 0xff;
  bytes[offset + 2] = (id >>> 8) & 0xff;
  bytes[offset + 3] = id & 0xff;
}

/**
 * Parse a payload of ext type `ext` (CHANNEL or BYTES). Throws TransportError BAD_REFERENCE for a wrong
 * length, stream id 0 (the yamux session id), or a preface that does not belong to the ext type.
 */
export function decodeReference(ext: ExtType, payload: Uint8Array): Reference {
  return readReference(ext, payload, 0, payload.length);
}

/** {@link decodeReference} of the `length`-byte payload at `at` in `bytes` (no view made). */
export function readReference(ext: ExtType, bytes: Uint8Array, at: number, length: number): Reference {
  if (length !== REFERENCE_PAYLOAD_SIZE) {
    throw transportError(
      'BAD_REFERENCE',
      `reference payload is ${length} bytes, expected ${REFERENCE_PAYLOAD_SIZE}`,
    );
  }
  const id = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  const preface = bytes[at + 4]!;
  const ok =
    ext === ExtType.CHANNEL
      ? preface === Preface.NESTED_SEND || preface === Preface.NESTED_RECV
      : preface === Preface.BYTES_SEND || preface === Preface.BYTES_RECV;
  if (!ok) {
    throw transportError(
      'BAD_REFERENCE',
      `${ext === ExtType.CHANNEL ? 'channel' : 'byte-stream'} reference with preface ${prefaceName(preface)}`,
    );
  }
  if (id === 0) throw transportError('BAD_REFERENCE', 'reference to stream 0');
  return { ext, id, preface: preface as Preface };
}

/** Per-message encode context. */
export interface EncodeContext {
  /**
   * Called once for every non-primitive value in the message that is not a plain object, a plain array or
   * a null-prototype object (those are never ends), in encoding order. For a channel or byte-stream
   * end: collect it and return the preface its stream will be opened with; for anything else: undefined.
   * Throws TransportError (ENCODE_ERROR for an end that cannot be sent, REFERENCE_LIMIT).
   */
  reference(value: object): Preface | undefined;
  /** Forget the ends collected so far, before an encode starts (the context is reused per message). */
  reset(): void;
}

/** Per-message decode context. */
export interface DecodeContext {
  /** Turn a reference into the value placed in the message. Throws TransportError BAD_REFERENCE. */
  claim(ref: Reference): unknown;
}

/** The mutable slot the codec reads its context from; set around each encode or decode. */
export interface ReferenceSlot {
  encode: EncodeContext | undefined;
  decode: DecodeContext | undefined;
  /** References encoded since the owner last set it to 0. */
  count: number;
  /**
   * The encoder writing the message, when its write position can be read: then the payload offset of each
   * reference in the encoded body goes to `offsets` (the owner checks them: see message-codec.ts).
   */
  encoder?: { readonly pos?: unknown } | undefined;
  /** Payload offsets in the body, in encoding order; the owner empties it before each encode. */
  offsets?: number[];
}

const builtIn = ExtensionCodec.defaultCodec;

/** Bytes an ext 8 value writes before its payload: 0xc7, the length, the type. A 5-byte payload has no
 *  fixext form, so a reference is always ext 8. */
export const EXT8_HEAD_SIZE = 3;

/**
 * The placeholder reference per preface (stream id 0), shared: the encoder copies the payload, and nobody
 * writes into these.
 */
const PLACEHOLDERS: Record<number, ExtData> = {};
for (const p of [Preface.NESTED_SEND, Preface.NESTED_RECV, Preface.BYTES_SEND, Preface.BYTES_RECV]) {
  PLACEHOLDERS[p] = new ExtData(extTypeFor(p), encodeReferencePayload(0, p));
}

/** Plain objects and arrays are never ends, dates or ExtData: the codec answers for them at once. */
const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;

/**
 * The MessagePack extension codec of channels. Ends become ext CHANNEL/BYTES with a placeholder id of 0
 * (the caller opens the streams after the whole message encoded, then writes the ids in: see
 * `message-codec.ts`). Dates use the standard timestamp extension (-1); other ext types pass through as
 * `ExtData`, except a user's own `ExtData` of type 0x01/0x02, which would forge a reference (ENCODE_ERROR).
 */
export class ReferenceCodec implements ExtensionCodecType<ReferenceSlot> {
  tryToEncode(object: unknown, slot: ReferenceSlot): ExtData | null {
    // Asked about every object and array of every message: most are plain, and none of those is an end.
    const proto = Object.getPrototypeOf(object);
    if (proto === OBJECT_PROTO || proto === ARRAY_PROTO || proto === null) return null;
    if (object instanceof ExtData) {
      if (object.type === ExtType.CHANNEL || object.type === ExtType.BYTES) {
        throw transportError('ENCODE_ERROR', `ExtData of type ${object.type} is reserved for references`);
      }
      return object;
    }
    if (!slot.encode) throw transportError('ENCODE_ERROR', 'no encode context');
    const preface = slot.encode.reference(object as object);
    if (preface !== undefined) {
      slot.count++;
      const pos = slot.encoder?.pos;
      if (typeof pos === 'number') slot.offsets?.push(pos + EXT8_HEAD_SIZE);
      return PLACEHOLDERS[preface]!;
    }
    return builtIn.tryToEncode(object, undefined);
  }

  decode(data: Uint8Array, extType: number, slot: ReferenceSlot): unknown {
    if (extType === ExtType.CHANNEL || extType === ExtType.BYTES) {
      const ref = decodeReference(extType, data);
      if (!slot.decode) throw transportError('BAD_REFERENCE', 'a reference where none may be');
      return slot.decode.claim(ref);
    }
    return builtIn.decode(data, extType, undefined);
  }
}
