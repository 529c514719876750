/**
 * The common shapes of a message encoded straight into a reused buffer, byte for byte as @msgpack/msgpack's
 * Encoder writes them (with `useBigInt64`, as message-codec.ts configures it): nil (null, undefined),
 * booleans, numbers, ASCII strings, plain arrays and objects, Uint8Arrays, and channel or byte-stream ends
 * (an ext 8 reference with a placeholder id, as ReferenceCodec writes it). The library's encoder spends
 * most of a small message's time outside the bytes: a UTF-8 count pass per string, a buffer check per
 * write, an extension-codec call per object.
 *
 * Anything else (a bigint, a non-ASCII string, a Date, ExtData, a Map or class instance that is not an
 * end, a function, a symbol, a value nested deeper than the limit) makes {@link BodyEncoder.encode}
 * return {@link UNSUPPORTED}: the caller then starts over with the library's encoder, which encodes it or
 * throws its own error. body-encoder.spec.ts checks the bytes against the library's.
 */
import { type EncodeContext, EXT8_HEAD_SIZE, extTypeFor, REFERENCE_PAYLOAD_SIZE } from './references.js';

/** What {@link BodyEncoder.encode} returns for a message it leaves to the library. */
export const UNSUPPORTED = -1;

/** The buffer's first size, bytes; it doubles as needed. */
const INITIAL_SIZE = 2048;

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const UINT8_PROTO = Uint8Array.prototype;

/** Thrown inside the walk to give up (never escapes {@link BodyEncoder.encode}). */
const GIVE_UP: unique symbol = Symbol('body-encoder.give-up');

/** Encodes one message at a time into its own buffer (not re-entrant: a context never encodes). */
export class BodyEncoder {
  /** The encoded body is `bytes[0, length)` after {@link encode}. */
  bytes = new Uint8Array(INITIAL_SIZE);
  private pos = 0;
  private ctx: EncodeContext | undefined = undefined;
  private offsets: number[] | undefined = undefined;

  constructor(private readonly maxDepth: number) {}

  /**
   * Encode `value` into {@link bytes} from offset 0 and return its length, or {@link UNSUPPORTED}. Each end
   * goes to `ctx.reference` in encoding order (so the ends `ctx` collected are in the message's order)
   * and the offset of its stream id placeholder is pushed to `offsets`. After UNSUPPORTED, `ctx` and
   * `offsets` may hold part of the message: the caller resets them. Throws what `ctx.reference` throws.
   */
  encode(value: unknown, ctx: EncodeContext, offsets: number[]): number {
    this.pos = 0;
    this.ctx = ctx;
    this.offsets = offsets;
    try {
      this.value(value, 1);
      return this.pos;
    } catch (err) {
      if (err === GIVE_UP) return UNSUPPORTED;
      throw err;
    } finally {
      this.ctx = undefined;
      this.offsets = undefined;
    }
  }

  /** Drop a buffer grown above `keep` bytes (a large message should not pin its buffer). */
  shrink(keep: number): void {
    if (this.bytes.length > keep) this.bytes = new Uint8Array(INITIAL_SIZE);
  }

  private value(v: unknown, depth: number): void {
    if (depth > this.maxDepth) throw GIVE_UP; // the library throws its own depth error
    switch (typeof v) {
      case 'number':
        this.number(v);
        return;
      case 'string':
        this.string(v);
        return;
      case 'boolean':
        this.byte(v ? 0xc3 : 0xc2);
        return;
      case 'undefined':
        this.byte(0xc0);
        return;
      case 'object':
        if (v === null) this.byte(0xc0);
        else this.object(v, depth);
        return;
      default: // bigint, function, symbol
        throw GIVE_UP;
    }
  }

  private object(v: object, depth: number): void {
    const proto = Object.getPrototypeOf(v);
    if (proto === ARRAY_PROTO) this.array(v as unknown[], depth);
    else if (proto === OBJECT_PROTO || proto === null) this.map(v as Record<string, unknown>, depth);
    else if (proto === UINT8_PROTO) this.binary(v as Uint8Array);
    else this.end(v);
  }

  private array(v: unknown[], depth: number): void {
    const size = v.length;
    this.head(size, 0x90, 0xdc, 0xdd);
    for (let i = 0; i < size; i++) this.value(v[i], depth + 1);
  }

  private map(v: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(v);
    this.head(keys.length, 0x80, 0xde, 0xdf);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      this.string(key);
      this.value(v[key], depth + 1);
    }
  }

  /** A fix/16/32 container head for `size` items. */
  private head(size: number, fix: number, h16: number, h32: number): void {
    if (size < 16) this.byte(fix + size);
    else if (size < 0x10000) {
      this.room(3);
      this.bytes[this.pos++] = h16;
      this.u16(size);
    } else {
      if (size >= 0x100000000) throw GIVE_UP;
      this.room(5);
      this.bytes[this.pos++] = h32;
      this.u32(size);
    }
  }

  /** An ASCII string; anything else is left to the library (its UTF-8 rules). */
  private string(s: string): void {
    const n = s.length;
    this.room(5 + n);
    const bytes = this.bytes;
    const start = this.pos;
    let at = start + (n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) throw GIVE_UP;
      bytes[at++] = c;
    }
    this.pos = start;
    if (n < 32) bytes[this.pos++] = 0xa0 + n;
    else if (n < 0x100) {
      bytes[this.pos++] = 0xd9;
      bytes[this.pos++] = n;
    } else if (n < 0x10000) {
      bytes[this.pos++] = 0xda;
      this.u16(n);
    } else {
      bytes[this.pos++] = 0xdb;
      this.u32(n);
    }
    this.pos = at;
  }

  private number(v: number): void {
    if (Number.isSafeInteger(v) && v < 0x100000000 && v >= -0x80000000) {
      if (v >= 0x80 || v < -0x20) this.integer(v);
      else this.byte(v >= 0 ? v : 0xe0 | (v + 0x20)); // positive or negative fixint
      return;
    }
    // Fractions, and integers beyond 32 bits (the library writes those as float 64 under useBigInt64).
    this.room(9);
    this.bytes[this.pos++] = 0xcb;
    FLOAT[0] = v;
    const bytes = this.bytes;
    // FLOAT_BYTES is in the platform's byte order; MessagePack is big-endian.
    for (let i = 7; i >= 0; i--) bytes[this.pos++] = FLOAT_BYTES[LITTLE_ENDIAN ? i : 7 - i]!;
  }

  /** A 32-bit integer that is not a fixint, in the smallest of the library's forms. */
  private integer(v: number): void {
    this.room(5);
    const bytes = this.bytes;
    if (v >= 0) {
      if (v < 0x100) {
        bytes[this.pos++] = 0xcc;
        bytes[this.pos++] = v;
      } else if (v < 0x10000) {
        bytes[this.pos++] = 0xcd;
        this.u16(v);
      } else {
        bytes[this.pos++] = 0xce;
        this.u32(v);
      }
    } else if (v >= -0x80) {
      bytes[this.pos++] = 0xd0;
      bytes[this.pos++] = v & 0xff;
    } else if (v >= -0x8000) {
      bytes[this.pos++] = 0xd1;
      this.u16(v & 0xffff);
    } else {
      bytes[this.pos++] = 0xd2;
      this.u32(v >>> 0);
    }
  }

  private binary(v: Uint8Array): void {
    const n = v.length;
    if (n >= 0x100000000) throw GIVE_UP;
    this.room(5 + n);
    const bytes = this.bytes;
    if (n < 0x100) {
      bytes[this.pos++] = 0xc4;
      bytes[this.pos++] = n;
    } else if (n < 0x10000) {
      bytes[this.pos++] = 0xc5;
      this.u16(n);
    } else {
      bytes[this.pos++] = 0xc6;
      this.u32(n);
    }
    if (n <= 64) for (let i = 0; i < n; i++) bytes[this.pos + i] = v[i]!;
    else bytes.set(v, this.pos);
    this.pos += n;
  }

  /** A non-plain object: an end becomes a reference (ext 8, placeholder id 0); anything else gives up. */
  private end(v: object): void {
    const preface = this.ctx!.reference(v);
    if (preface === undefined) throw GIVE_UP;
    this.room(EXT8_HEAD_SIZE + REFERENCE_PAYLOAD_SIZE);
    const bytes = this.bytes;
    let at = this.pos;
    bytes[at++] = 0xc7;
    bytes[at++] = REFERENCE_PAYLOAD_SIZE;
    bytes[at++] = extTypeFor(preface);
    this.offsets!.push(at);
    bytes[at++] = 0;
    bytes[at++] = 0;
    bytes[at++] = 0;
    bytes[at++] = 0;
    bytes[at++] = preface;
    this.pos = at;
  }

  private byte(b: number): void {
    this.room(1);
    this.bytes[this.pos++] = b;
  }

  private u16(v: number): void {
    this.bytes[this.pos++] = v >>> 8;
    this.bytes[this.pos++] = v & 0xff;
  }

  private u32(v: number): void {
    const bytes = this.bytes;
    bytes[this.pos++] = v >>> 24;
    bytes[this.pos++] = (v >>> 16) & 0xff;
    bytes[this.pos++] = (v >>> 8) & 0xff;
    bytes[this.pos++] = v & 0xff;
  }

  /** Make room for `n` more bytes. */
  private room(n: number): void {
    const need = this.pos + n;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
  }
}

const FLOAT = new Float64Array(1);
const FLOAT_BYTES = new Uint8Array(FLOAT.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
