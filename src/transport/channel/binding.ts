/**
 * The session side of references: which values are ends, opening a stream for each end a message carries
 * (before the message is written), and claiming the streams a received message names (all or none).
 */
import { Readable, Writable } from 'node:stream';
import { transportError } from '../errors.js';
import type { Session } from '../mux/index.js';
import { isBoundStream, pumpIntoWritable, pumpReadable, remoteReadable, remoteWritable } from './bytes.js';
import type { ChannelConfig } from './config.js';
import { type ChannelHost, kBind, kBound, type OutboundRecord } from './internal.js';
import { type ErrorBody, fillReferenceId, MessageCodec } from './message-codec.js';
import { StreamPort } from './port.js';
import { openerWrites, PREFACE_BYTES, Preface, prefaceName } from './preface.js';
import { Receiver } from './receiver.js';
import { RecordType } from './record.js';
import {
  type DecodeContext,
  decodeReference,
  type EncodeContext,
  type ExtType,
  type Reference,
} from './references.js';
import { scanMessage } from './scan.js';
import { Sender } from './sender.js';
import { UnclaimedTable } from './unclaimed.js';

/** The preface a stream for `value` is opened with, or undefined when `value` is not an end. */
export function prefaceOfEnd(value: object): Preface | undefined {
  if (value instanceof Sender) return Preface.NESTED_SEND;
  if (value instanceof Receiver) return Preface.NESTED_RECV;
  // A Duplex is both; it is sent as a Readable (its bytes go to the peer).
  if (value instanceof Readable) return Preface.BYTES_SEND;
  if (value instanceof Writable) return Preface.BYTES_RECV;
  return undefined;
}

function isBound(value: object): boolean {
  if (value instanceof Sender || value instanceof Receiver) return value[kBound];
  return isBoundStream(value);
}

/** Collects the ends of one outbound message, refusing ends that are bound or appear twice. */
class OutboundContext implements EncodeContext {
  readonly ends: object[] = [];
  readonly prefaces: Preface[] = [];

  reference(value: object): Preface | undefined {
    const preface = prefaceOfEnd(value);
    if (preface === undefined) return undefined;
    if (isBound(value) || this.ends.includes(value)) {
      throw transportError(
        'ENCODE_ERROR',
        `a ${endName(preface)} can be sent once: this one is already bound to a channel`,
      );
    }
    if (preface === Preface.BYTES_SEND && (value as Readable).destroyed) {
      throw transportError('ENCODE_ERROR', 'a destroyed Readable cannot be sent');
    }
    this.ends.push(value);
    this.prefaces.push(preface);
    return preface;
  }
}

/** For ERROR records, which carry no references. */
const noReferences: EncodeContext = {
  reference(value) {
    const preface = prefaceOfEnd(value);
    if (preface !== undefined) {
      throw transportError('ENCODE_ERROR', `an error's details cannot carry a ${endName(preface)}`);
    }
    return undefined;
  },
};

interface Claim {
  readonly id: number;
  readonly port: StreamPort;
  readonly bind: () => void;
}

/** Claims the streams one inbound message names; commit or abort once decoding is over. */
class InboundContext implements DecodeContext {
  private readonly claims: Claim[] = [];

  constructor(private readonly host: SessionHost) {}

  claim(ref: Reference): unknown {
    const { unclaimed } = this.host;
    const entry = unclaimed.get(ref.id);
    if (entry === undefined) {
      const ours = (ref.id & 1) === (this.host.mux.role === 'client' ? 1 : 0);
      throw transportError(
        'BAD_REFERENCE',
        ours
          ? `a message names stream ${ref.id}, which this side opened`
          : `a message names stream ${ref.id}, which the peer did not open or which is already claimed`,
      );
    }
    if (entry.preface !== ref.preface) {
      throw transportError(
        'BAD_REFERENCE',
        `a message names stream ${ref.id} as ${prefaceName(ref.preface)}, but it was opened as ${prefaceName(entry.preface)}`,
      );
    }
    if (this.claims.some((c) => c.id === ref.id)) {
      throw transportError('BAD_REFERENCE', `a message names stream ${ref.id} twice`);
    }
    const { value, bind } = remoteEnd(ref.preface, this.host, entry.port);
    this.claims.push({ id: ref.id, port: entry.port, bind });
    return value;
  }

  /** The message decoded: the streams are theirs now. */
  commit(): void {
    for (const c of this.claims) {
      this.host.unclaimed.delete(c.id);
      c.bind();
    }
  }

  /** The message is rejected: the streams it named are of no use to anyone. */
  abort(): void {
    for (const c of this.claims) {
      this.host.unclaimed.delete(c.id);
      c.port.reset();
    }
  }
}

/** The end this side gets for a stream the peer opened with `preface`. */
function remoteEnd(
  preface: Preface,
  host: ChannelHost,
  port: StreamPort,
): { value: unknown; bind: () => void } {
  switch (preface) {
    case Preface.NESTED_SEND: {
      const receiver = new Receiver();
      return { value: receiver, bind: () => receiver[kBind](host, port) };
    }
    case Preface.NESTED_RECV: {
      const sender = new Sender();
      return { value: sender, bind: () => sender[kBind](host, port) };
    }
    case Preface.BYTES_SEND: {
      const { readable, bind } = remoteReadable(port);
      return { value: readable, bind };
    }
    default: {
      const { writable, bind } = remoteWritable(port);
      return { value: writable, bind };
    }
  }
}

/** Bind an end this side put in a message to the stream opened for it. */
function bindLocalEnd(end: object, preface: Preface, host: ChannelHost, port: StreamPort): void {
  switch (preface) {
    case Preface.NESTED_SEND:
      (end as Sender)[kBind](host, port);
      break;
    case Preface.NESTED_RECV:
      (end as Receiver)[kBind](host, port);
      break;
    case Preface.BYTES_SEND:
      pumpReadable(end as Readable, port);
      break;
    default:
      pumpIntoWritable(end as Writable, port);
  }
}

/** One per ChannelSession: the codec, the multiplexer and the unclaimed table, for every end it binds. */
export class SessionHost implements ChannelHost {
  readonly unclaimed: UnclaimedTable;
  private readonly codec: MessageCodec;

  constructor(
    readonly mux: Session,
    readonly config: ChannelConfig,
  ) {
    this.codec = new MessageCodec(config);
    this.unclaimed = new UnclaimedTable(config.maxUnclaimedStreams);
  }

  encode(message: unknown): OutboundRecord {
    const ctx = new OutboundContext();
    const record = this.codec.encodeRecord(RecordType.MESSAGE, message, ctx);
    const ports: StreamPort[] = [];
    try {
      for (let i = 0; i < ctx.prefaces.length; i++) {
        const preface = ctx.prefaces[i]!;
        const port = new StreamPort(this.mux.open(PREFACE_BYTES[preface]));
        ports.push(port);
        if (!openerWrites(preface)) port.end(); // we only read on it: FIN right after the preface
        fillReferenceId(record, i, port.id);
      }
    } catch (err) {
      for (const port of ports) port.reset();
      throw err;
    }
    return {
      bytes: record.bytes,
      commit: () => {
        for (let i = 0; i < ports.length; i++) bindLocalEnd(ctx.ends[i]!, ctx.prefaces[i]!, this, ports[i]!);
      },
      abort: () => {
        for (const port of ports) port.reset();
      },
    };
  }

  encodeError(code: string, message: string, details: unknown): Uint8Array {
    try {
      return this.codec.encodeErrorRecord(code, message, details, noReferences).bytes;
    } catch {
      // Details that cannot travel (or make the record too large) are dropped; the code still reaches the peer.
      return this.codec.encodeErrorRecord(code.slice(0, 256), message.slice(0, 1024), undefined, noReferences)
        .bytes;
    }
  }

  decode(body: Uint8Array): unknown {
    const ctx = new InboundContext(this);
    let value: unknown;
    try {
      value = this.codec.decodeBody(body, ctx);
    } catch (err) {
      ctx.abort();
      this.resetNamed(body);
      throw err;
    }
    ctx.commit();
    return value;
  }

  /**
   * A message was rejected: reset the unclaimed streams it names (as far as its bytes can be walked), which
   * nothing else would ever claim. Best effort; never throws.
   */
  private resetNamed(body: Uint8Array): void {
    try {
      scanMessage(body, this.config.maxNestingDepth, Number.POSITIVE_INFINITY, (offset, ext, length) => {
        let ref: Reference;
        try {
          ref = decodeReference(ext as ExtType, body.subarray(offset, offset + length));
        } catch {
          return; // a malformed reference names nothing
        }
        const entry = this.unclaimed.get(ref.id);
        if (entry !== undefined && entry.preface === ref.preface) {
          this.unclaimed.delete(ref.id);
          entry.port.reset();
        }
      });
    } catch {
      // Malformed past this point: what was found is reset.
    }
  }

  decodeError(body: Uint8Array): ErrorBody {
    return this.codec.decodeErrorBody(body);
  }
}

function endName(preface: Preface): string {
  switch (preface) {
    case Preface.NESTED_SEND:
      return 'Sender';
    case Preface.NESTED_RECV:
      return 'Receiver';
    case Preface.BYTES_SEND:
      return 'Readable';
    default:
      return 'Writable';
  }
}
