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

/**
 * Tagged channel references: ext types {@link TAG_MIN} to {@link TAG_MAX} carry a nested channel exactly
 * like CHANNEL (same payload, same prefaces), and the ext type is a tag the application gives meaning to
 * (the actor layer: a ref, a callback). The channel layer opens, claims and binds them as channels and
 * hands the end to the session's {@link EndCodec} with the tag.
 */
export const TAG_MIN = 0x03;
export const TAG_MAX = 0x0f;

/** True for an ext type that names a stream: CHANNEL, BYTES or a tag. */
export function isReferenceExt(type: number): boolean {
  return type >= ExtType.CHANNEL && type <= TAG_MAX;
}

/** True for a tag (an application's channel reference type). */
export function isTag(type: number): boolean {
  return type >= TAG_MIN && type <= TAG_MAX;
}

/**
 * How an application carries its own values as channels (set on a ChannelSession): a value that is not a
 * channel end itself (a ref, a function, an Observable) is replaced by an end when a message is encoded,
 * and a tagged reference is turned back into a value when a message is decoded.
 */
export interface EndCodec {
  /**
   * Called for every object of an outbound message that is not plain data nor already an end. Returns
   * an UNBOUND Sender or Receiver to carry in its place and the tag of the reference (0 for a plain
   * CHANNEL reference, else {@link TAG_MIN}..{@link TAG_MAX}), or undefined to encode `value` as data.
   * Throws to refuse the message (ENCODE_ERROR). The end is opened and bound when the message is written.
   */
  encode(value: object): { end: object; tag: number } | undefined;
  /**
   * A tagged reference was claimed: the value to put in the message instead of `end` (a Sender for a
   * NESTED_RECV stream, a Receiver for NESTED_SEND). Must not throw. The end is bound once the whole
   * message is decoded; if the message is rejected after this call, the end is never bound.
   */
  decode(end: object, tag: number): unknown;
  /** A message is about to be decoded (every inbound MESSAGE record, with references or not). */
  begin?(): void;
  /**
   * The message just decoded was decoded whole, and `placed` is what its references put in it, in order
   * (ends, and the values {@link decode} made of tagged references). Called only for a message with
   * references, after {@link begin} and before the message is delivered, in the same synchronous run.
   */
  committed?(placed: readonly unknown[]): void;
}

/** Payload length of a reference: stream id (4) and preface (1). Any other length is BAD_REFERENCE. */
export const REFERENCE_PAYLOAD_SIZE = 5;

/** A decoded reference. */
export interface Reference {
  /** CHANNEL, BYTES, or a tag (a channel reference). */
  readonly ext: number;
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
export function decodeReference(ext: number, payload: Uint8Array): Reference {
  return readReference(ext, payload, 0, payload.length);
}

/** {@link decodeReference} of the `length`-byte payload at `at` in `bytes` (no view made). */
export function readReference(ext: number, bytes: Uint8Array, at: number, length: number): Reference {
  if (length !== REFERENCE_PAYLOAD_SIZE) {
    throw transportError(
      'BAD_REFERENCE',
      `reference payload is ${length} bytes, expected ${REFERENCE_PAYLOAD_SIZE}`,
    );
  }
  const id = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  const preface = bytes[at + 4]!;
  const ok =
    ext === ExtType.BYTES
      ? preface === Preface.BYTES_SEND || preface === Preface.BYTES_RECV
      : preface === Preface.NESTED_SEND || preface === Preface.NESTED_RECV;
  if (!ok) {
    throw transportError(
      'BAD_REFERENCE',
      `${ext === ExtType.BYTES ? 'byte-stream' : 'channel'} reference with preface ${prefaceName(preface)}`,
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
  /** The tag of the reference {@link reference} just returned a preface for: 0 or absent for
   *  CHANNEL/BYTES. */
  readonly tag?: number;
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
}

const builtIn = ExtensionCodec.defaultCodec;

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
      if (isReferenceExt(object.type)) {
        throw transportError(
          'ENCODE_ERROR',
          `ExtData of type ${object.type} is reserved for references (types 1 to ${TAG_MAX})`,
        );
      }
      return object;
    }
    if (!slot.encode) throw transportError('ENCODE_ERROR', 'no encode context');
    const preface = slot.encode.reference(object as object);
    if (preface !== undefined) {
      slot.count++;
      const tag = slot.encode.tag;
      return tag ? new ExtData(tag, encodeReferencePayload(0, preface)) : PLACEHOLDERS[preface]!;
    }
    return builtIn.tryToEncode(object, undefined);
  }

  decode(data: Uint8Array, extType: number, slot: ReferenceSlot): unknown {
    if (isReferenceExt(extType)) {
      const ref = decodeReference(extType, data);
      if (!slot.decode) throw transportError('BAD_REFERENCE', 'a reference where none may be');
      return slot.decode.claim(ref);
    }
    return builtIn.decode(data, extType, undefined);
  }
}
