/**
 * The session side of references: which values are ends, opening a stream for each end a message carries
 * (before the message is written), and claiming the streams a received message names (all or none).
 */

import {
  bindLocalByteStream,
  byteStreamPreface,
  destroyByteStream,
  isBoundByteStream,
  isSpentByteStream,
  remoteByteStream,
} from '#platform/byte-streams.js';
import { type TransportError, transportError } from '../errors.js';
import type { Session } from '../mux/index.js';
import type { ChannelConfig } from './config.js';
import { ReferenceGate } from './gate.js';
import { type ChannelHost, kAbandon, kBind, kBound, type PreparedRecord } from './internal.js';
import { type ErrorBody, MessageCodec } from './message-codec.js';
import { StreamPort } from './port.js';
import { openerWrites, PREFACE_BYTES, Preface, prefaceName } from './preface.js';
import { Receiver } from './receiver.js';
import { RecordParser, RecordType } from './record.js';
import {
  type DecodeContext,
  decodeReference,
  type EncodeContext,
  type EndCodec,
  isTag,
  type Reference,
  writeReferenceId,
} from './references.js';
import { reportUnhandled } from './report.js';
import { scanMessage } from './scan.js';
import { Sender } from './sender.js';
import { UnclaimedTable } from './unclaimed.js';

/** The preface a stream for `value` is opened with, or undefined when `value` is not an end. */
export function prefaceOfEnd(value: object): Preface | undefined {
  if (value instanceof Sender) return Preface.NESTED_SEND;
  if (value instanceof Receiver) return Preface.NESTED_RECV;
  return byteStreamPreface(value);
}

function isBound(value: object): boolean {
  if (value instanceof Sender || value instanceof Receiver) return value[kBound];
  return isBoundByteStream(value);
}

/**
 * Collects the ends of one outbound message, refusing ends that are bound, waiting in a held message, or
 * appear twice. One per session, emptied before each encode (encoding is synchronous and never nests).
 */
class OutboundContext implements EncodeContext {
  readonly ends: object[] = [];
  readonly prefaces: Preface[] = [];
  tag = 0;

  constructor(
    private readonly reserved: WeakSet<object>,
    private readonly codec: EndCodec | undefined,
  ) {}

  reset(): void {
    empty(this.ends);
    empty(this.prefaces);
    this.tag = 0;
  }

  reference(value: object): Preface | undefined {
    let preface = prefaceOfEnd(value);
    this.tag = 0;
    if (preface === undefined) {
      const mapped = this.codec?.encode(value);
      if (mapped === undefined) return undefined;
      preface = prefaceOfEnd(mapped.end);
      if ((preface !== Preface.NESTED_SEND && preface !== Preface.NESTED_RECV) || !validTag(mapped.tag)) {
        throw transportError('ENCODE_ERROR', 'an end codec must give a Sender or Receiver and a valid tag');
      }
      value = mapped.end;
      this.tag = mapped.tag;
    }
    if (isBound(value) || this.reserved.has(value) || this.ends.includes(value)) {
      throw transportError(
        'ENCODE_ERROR',
        `a ${endName(preface)} can be sent once: this one is already bound to a channel`,
      );
    }
    if (preface === Preface.BYTES_SEND && isSpentByteStream(value)) {
      throw transportError(
        'ENCODE_ERROR',
        'this byte stream cannot be sent: it is destroyed, or locked to a reader',
      );
    }
    this.ends.push(value);
    this.prefaces.push(preface);
    return preface;
  }
}

function validTag(tag: number): boolean {
  return tag === 0 || isTag(tag);
}

/** For ERROR records, which carry no references. */
const noReferences: EncodeContext = {
  tag: 0,
  reset() {},
  reference(value) {
    const preface = prefaceOfEnd(value);
    if (preface !== undefined) {
      throw transportError('ENCODE_ERROR', `an error's details cannot carry a ${endName(preface)}`);
    }
    return undefined;
  },
};

/**
 * Claims the streams one inbound message names; commit or abort once decoding is over. One per session,
 * reused (a decode never starts inside another: binding an end delivers nothing synchronously). The claims
 * are parallel arrays rather than an object and a closure per claim.
 */
class InboundContext implements DecodeContext {
  private readonly ports: StreamPort[] = [];
  private readonly values: unknown[] = [];
  /** Only byte-stream ends need a bind function (from bytes.ts); undefined for channel ends. */
  private readonly binds: ((() => void) | undefined)[] = [];
  /** What each reference placed in the message (the end codec's values for tagged references). */
  private readonly placed: unknown[] = [];

  constructor(private readonly host: SessionHost) {}

  claim(ref: Reference): unknown {
    const { unclaimed } = this.host;
    const port = unclaimed.get(ref.id);
    if (port === undefined) {
      const ours = (ref.id & 1) === (this.host.mux.role === 'client' ? 1 : 0);
      throw transportError(
        'BAD_REFERENCE',
        ours
          ? `a message names stream ${ref.id}, which this side opened`
          : `a message names stream ${ref.id}, which the peer did not open or which is already claimed`,
      );
    }
    if (port.preface !== ref.preface) {
      throw transportError(
        'BAD_REFERENCE',
        `a message names stream ${ref.id} as ${prefaceName(ref.preface)}, but it was opened as ${prefaceName(port.preface)}`,
      );
    }
    if (this.ports.includes(port)) {
      throw transportError('BAD_REFERENCE', `a message names stream ${ref.id} twice`);
    }
    let value: unknown;
    let bind: (() => void) | undefined;
    switch (ref.preface) {
      case Preface.NESTED_SEND:
        value = new Receiver();
        break;
      case Preface.NESTED_RECV:
        value = new Sender();
        break;
      default: {
        const bytes = remoteByteStream(ref.preface, port);
        value = bytes.value;
        bind = bytes.bind;
      }
    }
    this.ports.push(port);
    this.values.push(value);
    this.binds.push(bind);
    const codec = this.host.ends;
    const placed = codec !== undefined && isTag(ref.ext) ? codec.decode(value as object, ref.ext) : value;
    this.placed.push(placed);
    return placed;
  }

  /** The message decoded: the streams are theirs now. */
  commit(): void {
    const { ports, values, binds, host } = this;
    for (let i = 0; i < ports.length; i++) {
      const port = ports[i]!;
      host.unclaimed.delete(port.id);
      const bind = binds[i];
      if (bind !== undefined) bind();
      else (values[i] as Sender | Receiver)[kBind](host, port);
    }
    const codec = host.ends;
    if (codec?.committed !== undefined && this.placed.length > 0) {
      const placed = this.placed.slice();
      this.clear();
      try {
        codec.committed(placed);
      } catch (err) {
        reportUnhandled(err);
      }
      return;
    }
    this.clear();
  }

  /** The message is rejected: the streams it named are of no use to anyone. */
  abort(): void {
    for (const port of this.ports) {
      this.host.unclaimed.delete(port.id);
      port.reset();
    }
    this.clear();
  }

  private clear(): void {
    empty(this.ports);
    empty(this.values);
    empty(this.binds);
    empty(this.placed);
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
    default:
      bindLocalByteStream(end, preface, port);
  }
}

/** One per ChannelSession: the codec, the multiplexer and the unclaimed table, for every end it binds. */
export class SessionHost implements ChannelHost {
  readonly unclaimed: UnclaimedTable;
  readonly gate: ReferenceGate;
  sharedParser: RecordParser | undefined;
  private readonly codec: MessageCodec;
  /** Ends in messages held by the gate: encoded, not yet written, so not bound, but already taken. */
  private readonly reserved = new WeakSet<object>();
  private readonly outbound: OutboundContext;
  /** The last encoded message: its record and where its stream ids go (reused by every encode). */
  private readonly scratch: PreparedRecord;
  private readonly inbound: InboundContext;
  private decoding = false;
  /** The streams write() opened for the record it is writing. */
  private readonly opened: StreamPort[] = [];

  constructor(
    readonly mux: Session,
    readonly config: ChannelConfig,
    readonly ends: EndCodec | undefined,
  ) {
    this.codec = new MessageCodec(config);
    this.unclaimed = new UnclaimedTable(config.maxUnclaimedStreams);
    this.gate = new ReferenceGate(config.maxUnclaimedStreams);
    this.sharedParser = new RecordParser(config.maxMessageSize);
    this.outbound = new OutboundContext(this.reserved, ends);
    this.scratch = {
      bytes: EMPTY,
      idOffsets: [],
      ends: this.outbound.ends,
      prefaces: this.outbound.prefaces,
    };
    this.inbound = new InboundContext(this);
  }

  encode(message: unknown): PreparedRecord {
    const ctx = this.outbound;
    ctx.reset();
    const scratch = this.scratch;
    scratch.bytes = EMPTY;
    scratch.bytes = this.codec.encodeInto(RecordType.MESSAGE, message, ctx, scratch.idOffsets);
    return scratch;
  }

  hold(record: PreparedRecord): PreparedRecord {
    for (const end of record.ends) this.reserved.add(end);
    return {
      bytes: record.bytes,
      idOffsets: record.idOffsets.slice(),
      ends: record.ends.slice(),
      prefaces: record.prefaces.slice(),
      held: true,
    };
  }

  release(record: PreparedRecord): void {
    for (const end of record.ends) this.reserved.delete(end);
  }

  abandon(record: PreparedRecord, reason: TransportError): void {
    this.release(record);
    for (const end of record.ends) {
      try {
        if (end instanceof Sender || end instanceof Receiver) end[kAbandon](reason);
        else destroyByteStream(end, reason);
      } catch (err) {
        reportUnhandled(err); // a bug in an end (or a stream's destroy): the others still end
      }
    }
  }

  write(port: StreamPort, record: PreparedRecord): boolean {
    const { prefaces, ends } = record;
    const n = prefaces.length;
    if (n === 0) return port.write(record.bytes);
    // Reused: a write inside a write (binding a Sender flushes its pending sends) happens only while the
    // ends are bound, and they are bound from copies when there is more than one.
    const opened = this.opened;
    empty(opened);
    let ok: boolean;
    try {
      for (let i = 0; i < n; i++) {
        const preface = prefaces[i]!;
        const ref = new StreamPort(this.mux.open(PREFACE_BYTES[preface]));
        opened.push(ref);
        if (!openerWrites(preface)) ref.end(); // we only read on it: FIN right after the preface
        writeReferenceId(record.bytes, record.idOffsets[i]!, ref.id);
      }
      ok = port.write(record.bytes);
    } catch (err) {
      for (const ref of opened) ref.reset();
      empty(opened);
      if (record.held) this.release(record);
      throw err;
    }
    if (record.held) this.release(record);
    if (n === 1) {
      const ref = opened.pop()!;
      try {
        bindLocalEnd(ends[0]!, prefaces[0]!, this, ref);
      } catch (err) {
        reportUnhandled(err); // a bug binding the end: the message is out, so report it, not fail the send
      }
    } else {
      const toBind = ends.slice();
      const kinds = prefaces.slice();
      const ports = opened.splice(0);
      try {
        for (let i = 0; i < n; i++) bindLocalEnd(toBind[i]!, kinds[i]!, this, ports[i]!);
      } catch (err) {
        reportUnhandled(err);
      }
    }
    this.gate.written(port, n);
    return ok;
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

  decode(bytes: Uint8Array, start: number, length: number): unknown {
    // A decode inside a decode would share the context; it cannot happen today, but a fresh one keeps it safe.
    const ctx = this.decoding ? new InboundContext(this) : this.inbound;
    const outer = this.decoding;
    this.decoding = true;
    this.ends?.begin?.();
    let value: unknown;
    try {
      value = this.codec.decodeBodyAt(bytes, start, length, ctx);
    } catch (err) {
      ctx.abort();
      this.resetNamed(bytes.subarray(start, start + length));
      throw err;
    } finally {
      this.decoding = outer;
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
          ref = decodeReference(ext, body.subarray(offset, offset + length));
        } catch {
          return; // a malformed reference names nothing
        }
        const port = this.unclaimed.get(ref.id);
        if (port !== undefined && port.preface === ref.preface) {
          this.unclaimed.delete(ref.id);
          port.reset();
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

const EMPTY = new Uint8Array(0);

/**
 * Empty a reused array. pop() rather than `length = 0`: the length setter is a runtime call that also
 * frees the backing store (then regrown by the next push), and these arrays hold one or two items.
 */
export function empty(list: unknown[]): void {
  while (list.length !== 0) list.pop();
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
