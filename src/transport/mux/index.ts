/**
 * The multiplexer: yamux (hashicorp/yamux spec.md) over any Node Duplex byte stream.
 * This file is its only public surface.
 */
export { defaultConfig, type MuxConfig, type Role, verifyConfig } from './config.js';
export { toDuplex } from './duplex.js';
export {
  decodeHeader,
  encodeHeader,
  Flag,
  type FrameHeader,
  FrameType,
  GoAwayCode,
  HEADER_LENGTH,
  INITIAL_STREAM_WINDOW,
  PROTOCOL_VERSION,
  writeHeader,
} from './frame.js';
export type { StreamListener } from './listener.js';
export { Session } from './session.js';
export type { ByteSocket } from './socket.js';
export { Stream, StreamState } from './stream.js';
