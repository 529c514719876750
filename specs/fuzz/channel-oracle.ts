/**
 * What a Receiver must deliver for the bytes of a channel stream that ends with FIN, worked out from the
 * bytes alone (docs/PROTOCOL.md 4.2, 4.3 and the limits of the channel config): the messages, in order,
 * and how the channel ends. Records that carry references make the rest depend on which streams are
 * open and claimed, so the prediction stops there ("undetermined"). Uses the record parser and the
 * structural scan of the channel layer (pinned by their own specs) and a plain MessagePack decoder.
 */
import { Decoder } from '@msgpack/msgpack';
import type { ChannelConfig } from '../../src/transport/channel/index.js';
import { RecordParser, RecordType } from '../../src/transport/channel/index.js';
import { scanMessage } from '../../src/transport/channel/scan.js';
import { isTransportError } from '../../src/transport/errors.js';

export type Limits = Pick<ChannelConfig, 'maxMessageSize' | 'maxNestingDepth' | 'maxReferencesPerMessage'>;

export type PredictedEnd =
  | { readonly kind: 'complete' }
  /** One of `codes`; for CHANNEL_ERROR, `remoteCode` is the peer's code. */
  | { readonly kind: 'error'; readonly codes: readonly string[]; readonly remoteCode?: string }
  /** A record with references: from here on it depends on the streams' state. */
  | { readonly kind: 'undetermined' };

export interface Prediction {
  /** Messages delivered before the end (or before the undetermined record). */
  readonly values: unknown[];
  readonly end: PredictedEnd;
}

const decoder = new Decoder({ useBigInt64: true });

/** The prediction for a channel stream whose payload after the preface is `bytes`, then FIN. */
export function predict(bytes: Uint8Array, limits: Limits): Prediction {
  const parser = new RecordParser(limits.maxMessageSize);
  const { records, error } = parser.push(bytes);
  const values: unknown[] = [];
  for (const r of records) {
    let references: number;
    try {
      references = scanMessage(r.body, limits.maxNestingDepth, limits.maxReferencesPerMessage).references;
    } catch (err) {
      return { values, end: failed(err) };
    }
    if (r.type === RecordType.MESSAGE) {
      if (references > 0) return { values, end: { kind: 'undetermined' } };
      try {
        values.push(asDelivered(decoder.decode(r.body)));
      } catch {
        return { values, end: { kind: 'error', codes: ['DECODE_ERROR'] } };
      }
      continue;
    }
    // An ERROR record: its body may carry no reference; which error wins depends on where it sits.
    if (references > 0) return { values, end: { kind: 'error', codes: ['BAD_REFERENCE', 'DECODE_ERROR'] } };
    let body: unknown;
    try {
      body = decoder.decode(r.body);
    } catch {
      return { values, end: { kind: 'error', codes: ['DECODE_ERROR'] } };
    }
    const { code, message } = (
      typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}
    ) as {
      code?: unknown;
      message?: unknown;
    };
    if (typeof code !== 'string' || typeof message !== 'string') {
      return { values, end: { kind: 'error', codes: ['DECODE_ERROR'] } };
    }
    return { values, end: { kind: 'error', codes: ['CHANNEL_ERROR'], remoteCode: code } };
  }
  if (error !== undefined) return { values, end: { kind: 'error', codes: [error.code] } };
  if (!parser.idle) return { values, end: { kind: 'error', codes: ['DECODE_ERROR'] } };
  return { values, end: { kind: 'complete' } };
}

/** A decoded value as PROTOCOL.md 4.3 says a receiver delivers it: a safe 64-bit integer as a number. */
function asDelivered(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (Array.isArray(value)) return value.map(asDelivered);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asDelivered(v)]));
  }
  return value;
}

function failed(err: unknown): PredictedEnd {
  if (!isTransportError(err)) throw err;
  return { kind: 'error', codes: [err.code] };
}
