/**
 * The few Node globals that code shared with Node uses, for the browser bundle only: esbuild `inject`s
 * these where the bundled code names `Buffer`, `setImmediate`, `clearImmediate` or `process` (see
 * scripts/build-browser.mjs). Not a Buffer polyfill: `Buffer` here is a Uint8Array with exactly the
 * statics and methods the bundled layers call (the multiplexer's frame writer and reader, peer keys); a
 * call to anything else fails with a TypeError, which the bundle spec would show.
 */
const HEX = '0123456789abcdef';
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

class MiniBuffer extends Uint8Array {
  static alloc(size: number): MiniBuffer {
    return new MiniBuffer(size);
  }

  static allocUnsafe(size: number): MiniBuffer {
    return new MiniBuffer(size);
  }

  static allocUnsafeSlow(size: number): MiniBuffer {
    return new MiniBuffer(size);
  }

  static isBuffer(v: unknown): v is MiniBuffer {
    return v instanceof MiniBuffer;
  }

  writeUInt32BE(value: number, offset: number): number {
    this[offset] = value >>> 24;
    this[offset + 1] = (value >>> 16) & 0xff;
    this[offset + 2] = (value >>> 8) & 0xff;
    this[offset + 3] = value & 0xff;
    return offset + 4;
  }

  copy(target: Uint8Array, targetStart = 0, sourceStart = 0, sourceEnd = this.length): number {
    const part = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
    target.set(part, targetStart);
    return part.length;
  }

  override toString(encoding?: string): string {
    if (encoding === 'hex') {
      let out = '';
      for (const b of this) out += HEX[b >> 4]! + HEX[b & 15]!;
      return out;
    }
    if (encoding === 'base64url') {
      let out = '';
      let i = 0;
      for (; i + 3 <= this.length; i += 3) {
        const n = (this[i]! << 16) | (this[i + 1]! << 8) | this[i + 2]!;
        out +=
          BASE64URL[n >> 18]! + BASE64URL[(n >> 12) & 63]! + BASE64URL[(n >> 6) & 63]! + BASE64URL[n & 63]!;
      }
      const left = this.length - i;
      if (left > 0) {
        const n = (this[i]! << 16) | (left === 2 ? this[i + 1]! << 8 : 0);
        out += BASE64URL[n >> 18]! + BASE64URL[(n >> 12) & 63]!;
        if (left === 2) out += BASE64URL[(n >> 6) & 63]!;
      }
      return out;
    }
    throw new TypeError(`the browser build's Buffer has no encoding ${encoding}`);
  }
}

/** A view of an ArrayBuffer (no copy), or a copy of the bytes of a Uint8Array or number array. */
function from(source: ArrayBuffer | ArrayLike<number>, byteOffset = 0, length?: number): MiniBuffer {
  if (source instanceof ArrayBuffer) {
    return new MiniBuffer(source, byteOffset, length ?? source.byteLength - byteOffset);
  }
  const copy = new MiniBuffer(source.length);
  copy.set(source);
  return copy;
}
// Uint8Array.from has another signature: set here, not declared in the class.
Object.defineProperty(MiniBuffer, 'from', { value: from });

export { MiniBuffer as Buffer };

/** Runs `fn(...args)` after the current task (a 0 ms timer: browsers have no setImmediate). */
export function setImmediate<A extends unknown[]>(fn: (...args: A) => void, ...args: A): number {
  return globalThis.setTimeout(fn, 0, ...args) as unknown as number;
}

export function clearImmediate(id: number | undefined): void {
  globalThis.clearTimeout(id);
}

/** Only `process.nextTick`, as a microtask. */
export const process = {
  nextTick<A extends unknown[]>(fn: (...args: A) => void, ...args: A): void {
    queueMicrotask(() => fn(...args));
  },
};
