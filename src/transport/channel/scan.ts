/**
 * A structural walk over one MessagePack value, without building it: checks that the bytes are exactly one
 * well-formed value, measures its nesting depth and counts the references (ext types 0x01 and 0x02) in it.
 *
 * The receiving side runs it before decoding so the limits hold before any object is built or any stream
 * is claimed (the MessagePack decoder has no depth limit of its own). The sending side runs it to find where
 * the reference payloads landed, to write the stream ids in, when the encoder could not tell. Pure; O(bytes);
 * the container stack is one module-level array reused by every walk (walks are synchronous and never
 * nest: a visitor must not start another walk), so a walk allocates nothing.
 */
import { transportError } from '../errors.js';
import { isReferenceExt } from './references.js';

/** What {@link scanMessage} measured. */
export interface ScanResult {
  /** Nesting depth: a top-level scalar is 1, each enclosing array or map adds 1 (`[[1]]` is 3). */
  readonly depth: number;
  /** Ext values of type CHANNEL or BYTES. */
  readonly references: number;
}

/** Called for each reference, in encoding order, with the offset of its payload in `bytes`. */
export type ReferenceVisitor = (payloadOffset: number, extType: number, payloadLength: number) => void;

/**
 * Walk `bytes`, which must hold exactly one MessagePack value.
 * Throws TransportError: DECODE_ERROR (truncated, trailing bytes, the never-used byte 0xc1),
 * REFERENCE_LIMIT (deeper than `maxDepth`, more references than `maxReferences`).
 */
export function scanMessage(
  bytes: Uint8Array,
  maxDepth: number,
  maxReferences: number,
  onReference?: ReferenceVisitor,
): ScanResult {
  const references = countReferences(bytes, maxDepth, maxReferences, onReference);
  return { depth: lastDepth, references };
}

/**
 * Items still expected by each open container, innermost at `remaining[top - 1]`: shared by every walk (see
 * the file comment), and never shrunk (a length change would free and regrow it on every walk).
 */
const remaining: number[] = [];
let top = 0;
/** The depth the last walk measured. */
let lastDepth = 0;
/** What the last walk saw (SAW_* bits). */
let lastSeen = 0;

/** {@link scannedFeatures}: the value holds an int 64 or a uint 64. */
export const SAW_INT64 = 1;
/** {@link scannedFeatures}: the value holds the string `__proto__` (as a map key or not). */
export const SAW_PROTO = 2;

/**
 * What the last walk that completed saw in its value: SAW_INT64 and SAW_PROTO bits. Read it right after
 * {@link countReferences} returns (the next walk replaces it).
 */
export function scannedFeatures(): number {
  return lastSeen;
}

/** "__proto__" in UTF-8. */
const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f];

/** True when the bytes of "__proto__" start at `at` of `bytes`. */
export function isProtoAt(bytes: Uint8Array, at: number): boolean {
  if (at + PROTO.length > bytes.length) return false;
  for (let i = 0; i < PROTO.length; i++) if (bytes[at + i] !== PROTO[i]) return false;
  return true;
}

/**
 * {@link scanMessage} without the result object: returns the number of references (the depth is not
 * needed on the hot path). Throws the same errors.
 */
export function countReferences(
  bytes: Uint8Array,
  maxDepth: number,
  maxReferences: number,
  onReference?: ReferenceVisitor,
): number {
  top = 0;
  return walk(bytes, maxDepth, maxReferences, onReference);
}

function walk(
  bytes: Uint8Array,
  maxDepth: number,
  maxReferences: number,
  onReference: ReferenceVisitor | undefined,
): number {
  const end = bytes.length;
  let pos = 0;
  let depth = 0;
  let references = 0;
  let seen = 0;
  do {
    const d = top + 1;
    if (d > maxDepth) {
      throw transportError('REFERENCE_LIMIT', `message nested deeper than maxNestingDepth (${maxDepth})`);
    }
    if (d > depth) depth = d;
    if (pos >= end) throw truncated(pos);
    const b = bytes[pos]!;
    let head = 1; // bytes of this value before its payload or children
    let payload = 0; // bytes of payload after the head
    let children = 0; // items that follow as separate values
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // fixint, nil, bool
    } else if (b <= 0x8f) {
      children = (b & 0x0f) * 2;
    } else if (b <= 0x9f) {
      children = b & 0x0f;
    } else if (b <= 0xbf) {
      payload = b & 0x1f;
    } else {
      switch (b) {
        case 0xc4: // bin 8
        case 0xd9: // str 8
          head = 2;
          payload = uint(bytes, pos + 1, 1);
          break;
        case 0xc5: // bin 16
        case 0xda: // str 16
          head = 3;
          payload = uint(bytes, pos + 1, 2);
          break;
        case 0xc6: // bin 32
        case 0xdb: // str 32
          head = 5;
          payload = uint(bytes, pos + 1, 4);
          break;
        case 0xc7: // ext 8
          head = 3;
          payload = uint(bytes, pos + 1, 1);
          break;
        case 0xc8: // ext 16
          head = 4;
          payload = uint(bytes, pos + 1, 2);
          break;
        case 0xc9: // ext 32
          head = 6;
          payload = uint(bytes, pos + 1, 4);
          break;
        case 0xca: // float 32
        case 0xce: // uint 32
        case 0xd2: // int 32
          payload = 4;
          break;
        case 0xcb: // float 64
          payload = 8;
          break;
        case 0xcf: // uint 64
        case 0xd3: // int 64
          payload = 8;
          seen |= SAW_INT64;
          break;
        case 0xcc: // uint 8
        case 0xd0: // int 8
          payload = 1;
          break;
        case 0xcd: // uint 16
        case 0xd1: // int 16
          payload = 2;
          break;
        case 0xd4: // fixext 1, 2, 4, 8, 16
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          head = 2;
          payload = 1 << (b - 0xd4);
          break;
        case 0xdc: // array 16
          head = 3;
          children = uint(bytes, pos + 1, 2);
          break;
        case 0xdd: // array 32
          head = 5;
          children = uint(bytes, pos + 1, 4);
          break;
        case 0xde: // map 16
          head = 3;
          children = uint(bytes, pos + 1, 2) * 2;
          break;
        case 0xdf: // map 32
          head = 5;
          children = uint(bytes, pos + 1, 4) * 2;
          break;
        default: // 0xc1: never used
          throw transportError('DECODE_ERROR', `invalid MessagePack byte 0xc1 at offset ${pos}`);
      }
    }
    if (pos + head + payload > end) throw truncated(pos);
    if (payload === PROTO.length && isStrHead(b) && isProtoAt(bytes, pos + head)) seen |= SAW_PROTO;
    // For ext values the head ends with the type byte.
    if (isExtHead(b)) {
      const type = bytes[pos + head - 1]!;
      if (isReferenceExt(type)) {
        references++;
        if (references > maxReferences) {
          throw transportError(
            'REFERENCE_LIMIT',
            `message carries more than maxReferencesPerMessage (${maxReferences}) channel or byte-stream references`,
          );
        }
        onReference?.(pos + head, type, payload);
      }
    }
    pos += head + payload;
    if (children > 0) {
      remaining[top++] = children;
      continue;
    }
    // This value is complete: close every container it completes.
    while (top > 0) {
      const left = remaining[top - 1]! - 1;
      if (left > 0) {
        remaining[top - 1] = left;
        break;
      }
      top--;
    }
  } while (top > 0);
  if (pos !== end) {
    throw transportError('DECODE_ERROR', `${end - pos} bytes after the end of the MessagePack value`);
  }
  lastDepth = depth;
  lastSeen = seen;
  return references;
}

/** fixstr of 9 bytes, str 8, str 16, str 32. */
function isStrHead(b: number): boolean {
  return b === 0xa9 || (b >= 0xd9 && b <= 0xdb);
}

function isExtHead(b: number): boolean {
  return (b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8);
}

/** Big-endian unsigned of `size` bytes at `at`; throws DECODE_ERROR past the end. */
function uint(bytes: Uint8Array, at: number, size: 1 | 2 | 4): number {
  if (at + size > bytes.length) throw truncated(at - 1);
  if (size === 1) return bytes[at]!;
  if (size === 2) return (bytes[at]! << 8) | bytes[at + 1]!;
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function truncated(at: number): Error {
  return transportError('DECODE_ERROR', `MessagePack value truncated at offset ${at}`);
}
