/**
 * Channel layer configuration: limits that bound what one peer can make this side hold.
 * Every field is an integer; {@link verifyConfig} says which values are allowed.
 */
import { transportError } from '../errors.js';
import { MAX_RECORD_LENGTH } from './record.js';

/** Upper bound of `maxNestingDepth`: the MessagePack encoder recurses once per level. */
export const MAX_NESTING_DEPTH = 1000;

export interface ChannelConfig {
  /** Largest record body, bytes, in both directions. Default 4 MiB. Min 1, max 2^32-1.
   *  Inbound above it: MESSAGE_TOO_LARGE and that channel is reset; outbound: send() rejects with it. */
  maxMessageSize: number;
  /** Nested streams the peer opened that no message has named yet. Default 256. 0 refuses every nested
   *  channel and byte stream (each is reset). Beyond it, the new stream is reset. */
  maxUnclaimedStreams: number;
  /** Channel and byte-stream references in one message. Default 64. 0 forbids references. Beyond it:
   *  REFERENCE_LIMIT (inbound: that channel is reset; outbound: send() rejects). */
  maxReferencesPerMessage: number;
  /** MessagePack nesting depth of one message: a top-level scalar is 1, each enclosing array or map adds 1.
   *  Default 32. Min 1, max 1000 (the encoder recurses). Beyond it: REFERENCE_LIMIT. */
  maxNestingDepth: number;
  /** Top-level channels waiting for accept(). Default 128. 0 keeps none waiting: a channel that arrives when
   *  no accept() is pending (and no onChannel is set) is reset. */
  maxAcceptBacklog: number;
}

/** The defaults, as a fresh object. */
export function defaultConfig(): ChannelConfig {
  return {
    maxMessageSize: 4 * 1024 * 1024,
    maxUnclaimedStreams: 256,
    maxReferencesPerMessage: 64,
    maxNestingDepth: 32,
    maxAcceptBacklog: 128,
  };
}

/** Defaults overlaid with `partial`, verified. Throws INVALID_CONFIG. */
export function resolveConfig(partial?: Partial<ChannelConfig>): ChannelConfig {
  const config = { ...defaultConfig() };
  for (const [key, value] of Object.entries(partial ?? {})) {
    if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  verifyConfig(config);
  return config;
}

/** Throws TransportError INVALID_CONFIG naming the first bad field. */
export function verifyConfig(config: ChannelConfig): void {
  const known = new Set(Object.keys(defaultConfig()));
  for (const key of Object.keys(config)) {
    if (!known.has(key)) throw invalid(`unknown channel config field "${key}"`);
  }
  check(config, 'maxMessageSize', 1, MAX_RECORD_LENGTH);
  check(config, 'maxUnclaimedStreams', 0, Number.MAX_SAFE_INTEGER);
  check(config, 'maxReferencesPerMessage', 0, Number.MAX_SAFE_INTEGER);
  check(config, 'maxNestingDepth', 1, MAX_NESTING_DEPTH);
  check(config, 'maxAcceptBacklog', 0, Number.MAX_SAFE_INTEGER);
}

function check(config: ChannelConfig, key: keyof ChannelConfig, min: number, max: number): void {
  const value = config[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`channel config ${key} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

function invalid(message: string) {
  return transportError('INVALID_CONFIG', message);
}
