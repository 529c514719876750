/**
 * Decoding one record body with @msgpack/msgpack's Decoder without its per-message set-up:
 * `Decoder.decode` makes a new DataView over every body it is given (`setBuffer`) and empties its state
 * stack with `length = 0` (`reinitializeState`), which frees the stack's backing store and its state
 * objects, so the next message allocates them again. Many records of a call arrive in one chunk, so their
 * bodies share one ArrayBuffer: {@link decodeInPlace} keeps one DataView (and one Uint8Array) per
 * ArrayBuffer and starts the decoder at the body's offset in it, and keeps the state stack's objects.
 *
 * These are library internals, not its typed API: they are checked on the decoder instance, and
 * {@link decodeInPlace} falls back to `Decoder.decode` when they are missing or when the decoder is busy
 * (a decode inside a decode). The codec round-trip and vector specs pin the result, and
 * decode-in-place.spec.ts runs the fallback too.
 *
 * Bounds: the view spans the whole ArrayBuffer, so the decoder's own "insufficient data" checks would see
 * the bytes after the body. The caller must therefore have checked, before calling, that the body is
 * exactly one well-formed MessagePack value (scan.ts does); the decoder's end position is checked against
 * the body's end after the decode all the same (DECODE_ERROR).
 */
import type { Decoder } from '@msgpack/msgpack';
import { transportError } from '../errors.js';

/** The fields of a 3.x Decoder this file reads and writes. */
interface DecoderInternals {
  entered: boolean;
  totalPos: number;
  pos: number;
  headByte: number;
  view: DataView;
  bytes: Uint8Array;
  stack: { stackHeadPosition: number; stack: unknown[] };
  doDecodeSync(): unknown;
}

/** The decoder's "no head byte read yet" marker (its HEAD_BYTE_REQUIRED). */
const HEAD_BYTE_REQUIRED = -1;

/** True when `decoder` has the internals {@link decodeInPlace} uses, with the types it expects. */
export function supportsInPlace(decoder: Decoder<never> | Decoder<unknown>): boolean {
  const d = decoder as unknown as Partial<DecoderInternals>;
  return (
    typeof d.doDecodeSync === 'function' &&
    typeof d.entered === 'boolean' &&
    typeof d.totalPos === 'number' &&
    typeof d.pos === 'number' &&
    d.headByte === HEAD_BYTE_REQUIRED &&
    d.view instanceof DataView &&
    d.bytes instanceof Uint8Array &&
    typeof d.stack === 'object' &&
    d.stack !== null &&
    typeof d.stack.stackHeadPosition === 'number' &&
    Array.isArray(d.stack.stack)
  );
}

/**
 * Decode `body`, which must hold exactly one well-formed MessagePack value (checked by the caller), with
 * `decoder`. `inPlace` is {@link supportsInPlace} of that decoder (checked once by its owner). Throws what
 * the decoder throws, or DECODE_ERROR when the decoder did not end exactly at the end of the body.
 */
export function decodeInPlace<C>(decoder: Decoder<C>, body: Uint8Array, inPlace: boolean): unknown {
  const d = decoder as unknown as DecoderInternals;
  if (!inPlace || d.entered) return decoder.decode(body);
  const buffer = body.buffer;
  if (d.view.buffer !== buffer) {
    d.view = new DataView(buffer);
    d.bytes = new Uint8Array(buffer);
  }
  const end = body.byteOffset + body.length;
  d.entered = true;
  try {
    d.totalPos = 0;
    d.headByte = HEAD_BYTE_REQUIRED;
    // Keep the pooled state objects: the decoder initialises each one it takes from the pool.
    d.stack.stackHeadPosition = -1;
    d.pos = body.byteOffset;
    const value = d.doDecodeSync();
    if (d.pos !== end) {
      throw transportError('DECODE_ERROR', 'the MessagePack value does not end where its record ends');
    }
    return value;
  } catch (err) {
    // Half-built containers stay in the pooled states: drop them rather than keep them alive.
    d.stack.stack.length = 0;
    d.stack.stackHeadPosition = -1;
    throw err;
  } finally {
    d.entered = false;
  }
}
