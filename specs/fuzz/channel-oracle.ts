/**
 * What a Receiver must deliver for the bytes of a channel stream that ends with FIN, worked out from the
 * bytes alone (docs/PROTOCOL.md 4.2, 4.3 and the limits of the channel config): the messages, in order,
 * and how the channel ends. Records and references are read by the independent reference-channel.ts;
 * a plain MessagePack decoder builds the values.
 *
 * References are judged against the nested streams the fuzz peer opened before the channel (PROTOCOL.md
 * 4.3: valid only if it names a stream the peer opened with that same preface and no earlier reference
 * claimed it); a valid one is predicted as an {@link EndMark} of the end the receiver gets. The one case
 * left "undetermined" is a body holding the bytes of `__proto__`, which the plain decoder refuses.
 */
import { Decoder, ExtensionCodec } from '@msgpack/msgpack';
import type { ChannelConfig } from '../../src/transport/channel/index.js';
import { ERROR, type FoundReference, holdsProto, readRecords, readStructure } from './reference-channel.js';

export type Limits = Pick<ChannelConfig, 'maxMessageSize' | 'maxNestingDepth' | 'maxReferencesPerMessage'>;

/** A nested stream the peer opened before the channel: its id and preface. */
export interface OpenedStream {
  readonly id: number;
  readonly preface: number;
}

export type PredictedEnd =
  | { readonly kind: 'complete' }
  /** One of `codes`; for CHANNEL_ERROR, `remoteCode` is the peer's code. */
  | { readonly kind: 'error'; readonly codes: readonly string[]; readonly remoteCode?: string }
  /** Not predicted from here on (see the file comment). */
  | { readonly kind: 'undetermined' };

export interface Prediction {
  /** Messages delivered before the end (or before the undetermined record). */
  readonly values: unknown[];
  readonly end: PredictedEnd;
}

/** What the receiver gets for a stream opened with a nested preface. */
export type EndKind = 'Receiver' | 'Sender' | 'Readable' | 'Writable';

const KIND_OF_PREFACE: Record<number, EndKind> = { 2: 'Receiver', 3: 'Sender', 4: 'Readable', 5: 'Writable' };

/** A channel or byte-stream end inside a predicted (or a delivered, made comparable) message. */
export class EndMark {
  constructor(readonly kind: EndKind) {}
}

/** The ext type a preface belongs to (PROTOCOL.md 4.3 table). */
function extOf(preface: number): number | undefined {
  if (preface === 2 || preface === 3) return 1;
  if (preface === 4 || preface === 5) return 2;
  return undefined;
}

/** The preface a valid reference names, or undefined when it is BAD_REFERENCE. Claims it in `claimed`. */
function judge(
  ref: FoundReference,
  opened: readonly OpenedStream[],
  claimed: Set<number>,
): number | undefined {
  if (ref.payload.length !== 5) return undefined;
  const p = ref.payload;
  const id = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
  const preface = p[4]!;
  // A tagged reference (3 to 15) names a channel exactly as CHANNEL (1) does.
  if (extOf(preface) !== (ref.ext >= 3 ? 1 : ref.ext)) return undefined;
  const stream = opened.find((s) => s.id === id);
  if (stream === undefined || stream.preface !== preface || claimed.has(id)) return undefined;
  claimed.add(id);
  return preface;
}

/** A plain decoder whose references become EndMarks (bad ones too: such a message is never delivered). */
const ends = new ExtensionCodec();
for (let type = 1; type <= 15; type++) {
  ends.register({
    type,
    encode: () => null,
    decode: (data) => new EndMark(KIND_OF_PREFACE[data[4] ?? 0] ?? 'Receiver'),
  });
}
const decoder = new Decoder({ useBigInt64: true, extensionCodec: ends });

/**
 * The prediction for a channel stream whose payload after the preface is `bytes`, then FIN, when the
 * peer opened `opened` before it (none of them claimed yet).
 */
export function predict(bytes: Uint8Array, limits: Limits, opened: readonly OpenedStream[] = []): Prediction {
  const { records, end } = readRecords(bytes, limits.maxMessageSize);
  const values: unknown[] = [];
  const claimed = new Set<number>();
  const error = (codes: string[]): Prediction => ({ values, end: { kind: 'error', codes } });
  for (const r of records) {
    const structure = readStructure(r.body, limits.maxNestingDepth, limits.maxReferencesPerMessage);
    if (structure.codes.length > 0) return error([...structure.codes]);
    if (holdsProto(r.body)) return { values, end: { kind: 'undetermined' } };
    // In a MESSAGE, each reference is claimed as the decoder meets it; in an ERROR, any is BAD_REFERENCE.
    const bad =
      r.type === ERROR
        ? structure.references.length > 0
        : structure.references.some((ref) => judge(ref, opened, claimed) === undefined);
    let value: unknown;
    try {
      value = asDelivered(decoder.decode(r.body));
    } catch {
      // Where the decoder fails relative to the first bad reference decides which error comes first.
      return error(bad ? ['BAD_REFERENCE', 'DECODE_ERROR'] : ['DECODE_ERROR']);
    }
    if (bad) return error(['BAD_REFERENCE']);
    if (r.type !== ERROR) {
      values.push(value);
      continue;
    }
    const { code, message } = (
      typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}
    ) as { code?: unknown; message?: unknown };
    if (typeof code !== 'string' || typeof message !== 'string') return error(['DECODE_ERROR']);
    return { values, end: { kind: 'error', codes: ['CHANNEL_ERROR'], remoteCode: code } };
  }
  if (end.kind === 'bad-header') return error([...end.codes]);
  if (end.kind === 'partial') return error(['DECODE_ERROR']);
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
