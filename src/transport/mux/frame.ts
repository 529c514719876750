/**
 * The yamux wire constants and the pure frame-header codec (hashicorp/yamux `const.go`).
 *
 * Every yamux frame starts with a 12-byte header, all fields big-endian:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 1 | version, always {@link PROTOCOL_VERSION} (0) |
 * | 1 | 1 | type, a {@link FrameType} |
 * | 2 | 2 | flags, a bit set of {@link Flag} |
 * | 4 | 4 | stream id (0 = the session itself: Ping and GoAway) |
 * | 8 | 4 | length: Data payload bytes / WindowUpdate delta / Ping opaque value / GoAway code |
 *
 * Only Data frames carry a payload (`length` bytes right after the header). `docs/PROTOCOL.md` section 3
 * mirrors these values and `specs/transport/mux/frame.spec.ts` pins every one.
 */

/** The only yamux version: the version byte of every frame. Any other value is a protocol error. */
export const PROTOCOL_VERSION = 0;

/** Bytes in a frame header. */
export const HEADER_LENGTH = 12;

/**
 * yamux fixes every stream's initial window, in both directions, at 256 KiB. A larger window is
 * announced with a WindowUpdate; it can never be made smaller than this.
 */
export const INITIAL_STREAM_WINDOW = 256 * 1024;

/** Largest value of the 32-bit stream id, length and window fields. */
export const MAX_UINT32 = 0xffff_ffff;

/** The frame type byte. */
export const FrameType = {
  /** Stream data; `length` payload bytes follow. May be empty when it only carries flags. */
  Data: 0,
  /** Adds `length` bytes to the receiver's send window for the stream; also carries flags alone. */
  WindowUpdate: 1,
  /** Session keepalive / RTT probe, stream id 0; `length` is an opaque value echoed back. */
  Ping: 2,
  /** The sender is terminating the session, stream id 0; `length` is a {@link GoAwayCode}. */
  GoAway: 3,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** The flag bits. Bits above {@link Flag.RST} are reserved; receivers ignore them (as hashicorp does). */
export const Flag = {
  /** Opens a new stream (Data or WindowUpdate); on a Ping, marks a request. */
  SYN: 0x1,
  /** Accepts a stream the peer opened (Data or WindowUpdate); on a Ping, marks the answer. */
  ACK: 0x2,
  /** Half-close: the sender writes no more data on this stream. */
  FIN: 0x4,
  /** Resets the stream at once, in both directions. */
  RST: 0x8,
} as const;
export type Flag = (typeof Flag)[keyof typeof Flag];

/** The `length` field of a GoAway frame. */
export const GoAwayCode = {
  /** Normal termination: no new streams; open streams may finish. */
  Normal: 0,
  /** The peer broke the protocol (bad header, window exceeded, frame too large...). */
  ProtocolError: 1,
  /** The sender failed internally. */
  InternalError: 2,
} as const;
export type GoAwayCode = (typeof GoAwayCode)[keyof typeof GoAwayCode];

/** A decoded frame header. */
export interface FrameHeader {
  version: number;
  type: number;
  flags: number;
  streamId: number;
  length: number;
}

/**
 * Writes a header into `out` at `offset` (12 bytes). Pure: touches only those bytes.
 * Fails with a RangeError when a field does not fit its width or `out` is too short.
 */
export function writeHeader(
  out: Uint8Array,
  offset: number,
  type: number,
  flags: number,
  streamId: number,
  length: number,
  version: number = PROTOCOL_VERSION,
): void {
  if (offset < 0 || offset + HEADER_LENGTH > out.length) throw new RangeError('header does not fit');
  checkUint('version', version, 0xff);
  checkUint('type', type, 0xff);
  checkUint('flags', flags, 0xffff);
  checkUint('stream id', streamId, MAX_UINT32);
  checkUint('length', length, MAX_UINT32);
  putHeader(out, offset, type, flags, streamId, length);
  out[offset] = version;
}

/**
 * {@link writeHeader} without its checks, version 0: for the session's write path, whose fields are in
 * range by construction (types and flags are constants, stream ids and lengths are bounded by 2^32-1
 * where they are made). Out-of-range input writes truncated bytes instead of throwing.
 */
export function putHeader(
  out: Uint8Array,
  offset: number,
  type: number,
  flags: number,
  streamId: number,
  length: number,
): void {
  out[offset] = PROTOCOL_VERSION;
  out[offset + 1] = type;
  out[offset + 2] = flags >>> 8;
  out[offset + 3] = flags & 0xff;
  putUint32(out, offset + 4, streamId);
  putUint32(out, offset + 8, length);
}

/** The 12 header bytes of `h` (version defaults to {@link PROTOCOL_VERSION}). Throws RangeError on a field out of range. */
export function encodeHeader(h: Omit<FrameHeader, 'version'> & { version?: number }): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  writeHeader(out, 0, h.type, h.flags, h.streamId, h.length, h.version ?? PROTOCOL_VERSION);
  return out;
}

/**
 * Decodes the header at `offset`. Does not judge it (version, type and flags are returned as read;
 * the session decides what is an error). Throws RangeError when fewer than 12 bytes remain.
 */
export function decodeHeader(buf: Uint8Array, offset = 0): FrameHeader {
  if (offset < 0 || offset + HEADER_LENGTH > buf.length) throw new RangeError('short frame header');
  return {
    version: buf[offset]!,
    type: buf[offset + 1]!,
    flags: (buf[offset + 2]! << 8) | buf[offset + 3]!,
    streamId: getUint32(buf, offset + 4),
    length: getUint32(buf, offset + 8),
  };
}

/** Big-endian uint32 at `offset` (no bounds check beyond the caller's). */
export function getUint32(buf: Uint8Array, offset: number): number {
  return (
    (buf[offset]! * 0x1000000 + ((buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!)) >>> 0
  );
}

function putUint32(out: Uint8Array, offset: number, v: number): void {
  out[offset] = v >>> 24;
  out[offset + 1] = (v >>> 16) & 0xff;
  out[offset + 2] = (v >>> 8) & 0xff;
  out[offset + 3] = v & 0xff;
}

function checkUint(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name} ${v} is not in 0..${max}`);
}

/** A short name for a frame type, for messages and logs ("Data", "WindowUpdate"...); "type N" when unknown. */
export function frameTypeName(type: number): string {
  for (const [name, v] of Object.entries(FrameType)) if (v === type) return name;
  return `type ${type}`;
}
