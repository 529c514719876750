/**
 * JSON in and out of `rxchan call`. MessagePack has two kinds of value JSON has not; they travel as
 * one-key objects, both ways:
 *
 * - bytes (Uint8Array, Buffer) are `{"$bytes": "<base64>"}`;
 * - integers outside JSON's safe range (bigint) are `{"$bigint": "<decimal>"}`.
 *
 * A Date prints as its ISO text (as JSON.stringify does); `undefined` as `null`. A Node byte stream
 * (Readable, Writable) is not printable.
 */
import { Readable, Writable } from 'node:stream';

/**
 * Parses one JSON argument, turning `{"$bytes": ...}` and `{"$bigint": ...}` into bytes and bigints.
 * Throws SyntaxError for bad JSON, or for a `$bytes`/`$bigint` value that is not valid.
 */
export function parseJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const keys = Object.keys(value);
    if (keys.length !== 1) return value;
    const inner = (value as Record<string, unknown>)[keys[0]!];
    if (keys[0] === '$bytes') {
      if (typeof inner !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(inner)) {
        throw new SyntaxError('$bytes must be base64 text');
      }
      return new Uint8Array(Buffer.from(inner, 'base64'));
    }
    if (keys[0] === '$bigint') {
      if (typeof inner !== 'string' || !/^-?\d+$/.test(inner)) {
        throw new SyntaxError('$bigint must be a decimal integer in a string');
      }
      return BigInt(inner);
    }
    return value;
  });
}

/**
 * JSON for `value`, with bytes and bigints as above: one line (no newline), or indented by `indent`
 * spaces. Throws TypeError for a byte stream anywhere in `value`, and for a cycle (as JSON.stringify;
 * values decoded from MessagePack have none).
 */
export function stringify(value: unknown, indent?: number): string {
  return (
    JSON.stringify(
      value,
      function (this: Record<string, unknown>, key, v: unknown) {
        // Read the value before its toJSON ran (a Buffer's toJSON would hide it is bytes).
        const raw = this[key];
        if (raw instanceof Readable || raw instanceof Writable)
          throw new TypeError('a byte stream is not JSON');
        if (raw instanceof Uint8Array)
          return { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
        if (typeof v === 'bigint') return { $bigint: v.toString() };
        return v;
      },
      indent,
    ) ?? 'null'
  );
}
