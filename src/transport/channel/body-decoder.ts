/**
 * One MessagePack message body to a value in one pass, enforcing the channel limits as it goes: nesting
 * depth (maxNestingDepth), references (maxReferencesPerMessage), and that the body is exactly one
 * well-formed value. It replaces the pair "scan the body (scan.ts), then decode it with @msgpack/msgpack",
 * which walked every body twice and made a DataView, a state object per container and a view per
 * reference for every message.
 *
 * The values are those @msgpack/msgpack's Decoder gives with `useBigInt64` (the sending side encodes with
 * it): nil, booleans, numbers, bigints for every 64-bit integer, strings, `Uint8Array` views of the body
 * for bin, arrays, plain-object maps with string or number keys (`__proto__` refused), ext -1 as a Date
 * and other ext types as `ExtData` (the library's own codec decodes those), and references claimed
 * through the {@link DecodeContext}. Strings too are decoded as the library decodes them, malformed UTF-8
 * included. body-decoder.spec.ts checks it against the library, value for value.
 *
 * Claims: a reference is claimed only once the whole body has passed (so a message that breaks a limit
 * claims nothing); the pass leaves a placeholder and notes where it is, and the claims then run in the
 * order the references appear and replace their placeholders.
 *
 * Errors: a bad message gets the error a scan-then-decode gives: when the pass fails, the body is scanned
 * (scan.ts), and a structural error (DECODE_ERROR for truncated, trailing bytes or 0xc1; REFERENCE_LIMIT)
 * wins; otherwise the references before the failure are claimed in order (a decode claims as it goes),
 * and a claim's error (BAD_REFERENCE) wins over what the pass met (a bad map key, a bad ext value).
 * Claims made before a failure are the caller's to abort (binding.ts resets their streams).
 */
import { ExtensionCodec } from '@msgpack/msgpack';
import { type TransportError, transportError } from '../errors.js';
import { type DecodeContext, ExtType, type Reference, readReference } from './references.js';
import { countReferences } from './scan.js';

const builtIn = ExtensionCodec.defaultCodec;

/** Strings longer than this (bytes) are decoded by TextDecoder, shorter ones in JavaScript: as the library. */
const LONG_STRING = 200;

/** As the library's (a leading U+FEFF is dropped from a long string). */
const utf8 = new TextDecoder();

/** Floats and 64-bit integers are read through this 8-byte scratch view (no view per body). */
const scratch = new DataView(new ArrayBuffer(8));

/** Where a reference sits until it is claimed (never seen outside this file). */
const PENDING: object = Object.freeze({});

/**
 * Decodes bodies, one at a time (not re-entrant: a claim never decodes). One per message codec; holds no
 * state between bodies.
 */
export class BodyDecoder {
  private bytes: Uint8Array = EMPTY;
  /** Where the body starts in `bytes` (offsets in error messages are from there). */
  private start = 0;
  private pos = 0;
  private end = 0;
  /** The references met so far, in order, and where each goes: `holders[i][keys[i]]`, or the result
   *  itself when `holders[i]` is undefined. Reused (emptied with pop(): see empty() in binding.ts). */
  private readonly refs: Reference[] = [];
  private readonly holders: (Record<string | number, unknown> | unknown[] | undefined)[] = [];
  private readonly keys: (string | number)[] = [];

  constructor(
    private readonly maxDepth: number,
    private readonly maxReferences: number,
  ) {}

  /**
   * Decode the body `bytes[start, start + length)`, claiming each reference through `ctx` (undefined: a
   * reference is BAD_REFERENCE). Throws TransportError: DECODE_ERROR, REFERENCE_LIMIT, BAD_REFERENCE, or
   * what `ctx.claim` throws.
   */
  decode(bytes: Uint8Array, start: number, length: number, ctx: DecodeContext | undefined): unknown {
    this.bytes = bytes;
    this.start = start;
    this.pos = start;
    this.end = start + length;
    let value: unknown;
    try {
      value = this.value(1);
      if (this.pos !== this.end) {
        throw transportError(
          'DECODE_ERROR',
          `${this.end - this.pos} bytes after the end of the MessagePack value`,
        );
      }
    } catch (err) {
      // The error a scan-then-decode would have given (see the file comment).
      this.bytes = EMPTY;
      try {
        countReferences(bytes.subarray(start, start + length), this.maxDepth, this.maxReferences);
        for (const ref of this.refs) claim(ctx, ref);
      } finally {
        this.clear();
      }
      throw err;
    }
    this.bytes = EMPTY;
    if (value === PENDING) this.holders.push(undefined); // the message itself is a reference
    try {
      const { refs, holders, keys } = this;
      for (let i = 0; i < refs.length; i++) {
        const claimed = claim(ctx, refs[i]!);
        const holder = holders[i];
        if (holder === undefined) value = claimed;
        else (holder as Record<string | number, unknown>)[keys[i]!] = claimed;
      }
    } finally {
      this.clear();
    }
    return value;
  }

  private clear(): void {
    const { refs, holders, keys } = this;
    while (refs.length !== 0) refs.pop();
    while (holders.length !== 0) holders.pop();
    while (keys.length !== 0) keys.pop();
  }

  /** A value just decoded into `holder[key]` is a reference: note where it goes. */
  private pending(holder: Record<string | number, unknown> | unknown[], key: string | number): void {
    this.holders.push(holder);
    this.keys.push(key);
  }

  private value(depth: number): unknown {
    if (depth > this.maxDepth) {
      throw transportError(
        'REFERENCE_LIMIT',
        `message nested deeper than maxNestingDepth (${this.maxDepth})`,
      );
    }
    const at = this.pos;
    if (at >= this.end) throw truncated(at - this.start);
    const b = this.bytes[at]!;
    this.pos = at + 1;
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b <= 0x8f) return this.map(b & 0x0f, depth);
    if (b <= 0x9f) return this.array(b & 0x0f, depth);
    if (b <= 0xbf) return this.string(b & 0x1f);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.binary(this.uint(1));
      case 0xc5:
        return this.binary(this.uint(2));
      case 0xc6:
        return this.binary(this.uint(4));
      case 0xc7:
        return this.ext(this.uint(1), at);
      case 0xc8:
        return this.ext(this.uint(2), at);
      case 0xc9:
        return this.ext(this.uint(4), at);
      case 0xca:
        return this.scratch(4).getFloat32(0);
      case 0xcb:
        return this.scratch(8).getFloat64(0);
      case 0xcc:
        return this.uint(1);
      case 0xcd:
        return this.uint(2);
      case 0xce:
        return this.uint(4);
      case 0xcf:
        return this.scratch(8).getBigUint64(0);
      case 0xd0:
        return (this.uint(1) << 24) >> 24;
      case 0xd1:
        return (this.uint(2) << 16) >> 16;
      case 0xd2:
        return this.uint(4) | 0;
      case 0xd3:
        return this.scratch(8).getBigInt64(0);
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return this.ext(1 << (b - 0xd4), at);
      case 0xd9:
        return this.string(this.uint(1));
      case 0xda:
        return this.string(this.uint(2));
      case 0xdb:
        return this.string(this.uint(4));
      case 0xdc:
        return this.array(this.uint(2), depth);
      case 0xdd:
        return this.array(this.uint(4), depth);
      case 0xde:
        return this.map(this.uint(2), depth);
      case 0xdf:
        return this.map(this.uint(4), depth);
      default: // 0xc1: never used
        throw transportError('DECODE_ERROR', `invalid MessagePack byte 0xc1 at offset ${at - this.start}`);
    }
  }

  private array(size: number, depth: number): unknown[] {
    if (size > this.end - this.pos) throw truncated(this.pos - this.start); // every item takes a byte at least
    const out = new Array<unknown>(size);
    for (let i = 0; i < size; i++) {
      const v = this.value(depth + 1);
      if (v === PENDING) this.pending(out, i);
      out[i] = v;
    }
    return out;
  }

  private map(size: number, depth: number): Record<string | number, unknown> {
    if (size * 2 > this.end - this.pos) throw truncated(this.pos - this.start);
    const out: Record<string | number, unknown> = {};
    for (let i = 0; i < size; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw transportError('DECODE_ERROR', `a map key must be a string or a number, not ${typeof key}`);
      }
      if (key === '__proto__') throw transportError('DECODE_ERROR', 'the map key __proto__ is not allowed');
      const v = this.value(depth + 1);
      if (v === PENDING) this.pending(out, key);
      out[key] = v;
    }
    return out;
  }

  private string(length: number): string {
    const at = this.take(length);
    const bytes = this.bytes;
    if (length > LONG_STRING) return utf8.decode(bytes.subarray(at, at + length));
    let s = '';
    for (let i = at; i < at + length; i++) {
      const c = bytes[i]!;
      if (c >= 0x80) return s + this.utf8Short(i, at + length);
      s += String.fromCharCode(c);
    }
    return s;
  }

  /**
   * UTF-8 from `from` to `to` exactly as the library's short-string decoder reads it, so a message decodes
   * to the same string here as with the library (the fuzz specs predict with it): no validation, a
   * sequence cut by the end of the string takes its continuation bytes from what follows in the body
   * (0 past the body), and a stray byte stands for the code unit of its value.
   */
  private utf8Short(from: number, to: number): string {
    let s = '';
    let i = from;
    while (i < to) {
      const b1 = this.bytes[i++]!;
      let unit: number;
      if ((b1 & 0x80) === 0) unit = b1;
      else if ((b1 & 0xe0) === 0xc0) unit = ((b1 & 0x1f) << 6) | this.next(i++);
      else if ((b1 & 0xf0) === 0xe0) {
        unit = ((b1 & 0x0f) << 12) | (this.next(i) << 6) | this.next(i + 1);
        i += 2;
      } else if ((b1 & 0xf8) === 0xf0) {
        unit = ((b1 & 0x07) << 18) | (this.next(i) << 12) | (this.next(i + 1) << 6) | this.next(i + 2);
        i += 3;
        if (unit > 0xffff) {
          unit -= 0x10000;
          s += String.fromCharCode(((unit >>> 10) & 0x3ff) | 0xd800);
          unit = 0xdc00 | (unit & 0x3ff);
        }
      } else unit = b1;
      s += String.fromCharCode(unit);
    }
    return s;
  }

  /** The low 6 bits of the byte at `at` of the body, 0 past its end. */
  private next(at: number): number {
    return at < this.end ? this.bytes[at]! & 0x3f : 0;
  }

  private binary(length: number): Uint8Array {
    return this.view(this.take(length), length);
  }

  /** A view of the body, as the library gives (a plain Uint8Array even when the body is a Buffer). */
  private view(at: number, length: number): Uint8Array {
    const bytes = this.bytes;
    return new Uint8Array(bytes.buffer, bytes.byteOffset + at, length);
  }

  /** An ext value of `length` payload bytes; the type byte is next. `head` is where its head byte was. */
  private ext(length: number, head: number): unknown {
    const typeAt = this.take(1);
    const type = (this.bytes[typeAt]! << 24) >> 24; // signed, as the library reads it
    const at = this.take(length);
    if (type === ExtType.CHANNEL || type === ExtType.BYTES) {
      if (this.refs.length === this.maxReferences) {
        throw transportError(
          'REFERENCE_LIMIT',
          `message carries more than maxReferencesPerMessage (${this.maxReferences}) channel or byte-stream references`,
        );
      }
      this.refs.push(readReference(type, this.bytes, at, length));
      return PENDING;
    }
    try {
      return builtIn.decode(this.view(at, length), type, undefined);
    } catch (err) {
      throw transportError(
        'DECODE_ERROR',
        `bad ext value of type ${type} at offset ${head - this.start}: ${messageOf(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  /** Skip `length` bytes (checked against the end); returns where they start. */
  private take(length: number): number {
    const at = this.pos;
    if (length > this.end - at) throw truncated(at - this.start);
    this.pos = at + length;
    return at;
  }

  /** A big-endian unsigned integer of `size` bytes. */
  private uint(size: 1 | 2 | 4): number {
    const at = this.take(size);
    const bytes = this.bytes;
    if (size === 1) return bytes[at]!;
    if (size === 2) return (bytes[at]! << 8) | bytes[at + 1]!;
    return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  }

  /** The next `size` bytes copied into the scratch view (for floats and 64-bit integers). */
  private scratch(size: 4 | 8): DataView {
    const at = this.take(size);
    const bytes = this.bytes;
    for (let i = 0; i < size; i++) scratch.setUint8(i, bytes[at + i]!);
    return scratch;
  }
}

const EMPTY = new Uint8Array(0);

function claim(ctx: DecodeContext | undefined, ref: Reference): unknown {
  if (ctx === undefined) throw transportError('BAD_REFERENCE', 'a reference where none may be');
  return ctx.claim(ref);
}

function truncated(at: number): TransportError {
  return transportError('DECODE_ERROR', `MessagePack value truncated at offset ${at}`);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
