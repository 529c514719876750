/**
 * Channels: the libchan model over the multiplexer (docs/PROTOCOL.md section 4). This file is the only
 * public surface of the channel layer.
 */
export { type ChannelConfig, defaultConfig, verifyConfig } from './config.js';
export type { DuplexEnds } from './duplex.js';
export { isPreface, Preface } from './preface.js';
export { ITERATOR_HIGH_WATER, ITERATOR_LOW_WATER, Receiver, type ReceiverObserver } from './receiver.js';
export {
  type ChannelRecord,
  frameRecord,
  MAX_RECORD_LENGTH,
  ParserState,
  RECORD_HEADER_SIZE,
  RecordParser,
  RecordType,
} from './record.js';
export {
  decodeReference,
  type EndCodec,
  ExtType,
  encodeReferencePayload,
  isTag,
  REFERENCE_PAYLOAD_SIZE,
  type Reference,
  TAG_MAX,
  TAG_MIN,
} from './references.js';
export { type CloseListener, Sender } from './sender.js';
export { ChannelSession, openDuplexCall } from './session.js';
