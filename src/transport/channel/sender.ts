/**
 * Sender: the writing end of a channel.
 */
import { isTransportError, type TransportError, transportError } from '../errors.js';
import type { GateWaiter } from './gate.js';
import {
  type ChannelHost,
  kAbandon,
  kBind,
  kBindShared,
  kBound,
  kWriteEncoded,
  type PreparedRecord,
} from './internal.js';
import type { PortHandler, StreamPort } from './port.js';
import { reportUnhandled } from './report.js';

/** A message sent while unbound: not encoded yet (the session is not known). No resolvers: from write(). */
interface PendingSend {
  readonly message: unknown;
  readonly resolve: (() => void) | undefined;
  readonly reject: ((err: TransportError) => void) | undefined;
}

/** A message the reference gate held back: encoded, its ends reserved. No resolvers: from write(). */
interface HeldSend {
  readonly record: PreparedRecord;
  resolve: (() => void) | undefined;
  reject: ((err: TransportError) => void) | undefined;
}

type Ending = { kind: 'close' } | { kind: 'error'; code: string; message: string; details: unknown };

/** What became of a message handed to the stream. */
enum Outcome {
  /** Written, and the stream is below its write high-water mark. */
  Written,
  /** Written, and the stream is above its write high-water mark: wait for it to drain. */
  Full,
  /** Held back by the reference gate (see gate.ts); written later, in order. */
  Held,
}

/** Returned by every send() that completes at once: one settled promise, shared (no allocation). */
const DONE: Promise<void> = Promise.resolve();

/** Internal hooks the port events object calls (symbols: not part of the public surface). */
const kClosed: unique symbol = Symbol('sender.closed');
const kData: unique symbol = Symbol('sender.data');
const kRetry: unique symbol = Symbol('sender.retry');

/**
 * The sending end of a channel: `send()` messages, then `close()` or `error()`.
 *
 * `new Sender<T>()` makes an UNBOUND sender meant to be put inside a message: the peer then gets the
 * matching Receiver, and this sender writes to it once that message is written. `send()` on an unbound
 * sender waits until it is bound. A sender can be bound once; putting it in a second message is
 * ENCODE_ERROR.
 *
 * ```ts
 * const reply = new Sender<number>();
 * await channel.send({ op: 'count', reply });   // the peer gets a Receiver
 * await reply.send(1);
 * reply.close();
 * ```
 */
export class Sender<T = unknown> {
  #host: ChannelHost | undefined;
  #port: StreamPort | undefined;
  #pending: PendingSend[] | undefined;
  #held: HeldSend[] | undefined;
  #ending: Ending | undefined;
  /** Why the channel is over, once it is over with an error. */
  #endError: TransportError | undefined;
  /** Set when we reset the stream ourselves, so its STREAM_RESET is not read as the receiver's cancel. */
  #localError: TransportError | undefined;
  /** The stream has closed (`closed` settles with #endError). */
  #over = false;
  /** `closed`, made on first use: most senders are never asked. */
  #closed: Promise<TransportError | undefined> | undefined;
  #resolveClosed: ((err: TransportError | undefined) => void) | undefined;
  /** The port handler and gate waiter (one object, made at bind). */
  #events: SenderEvents | undefined;
  /** onClosed() listeners: the first in a field (the usual one), more in a list. */
  #closeListener: CloseListener | undefined;
  #moreCloseListeners: CloseListener[] | undefined;

  /** Resolves when the channel is over: undefined after close()/error() went out and the stream closed,
   *  or the TransportError that ended it (CHANNEL_CANCELLED when the receiver cancelled). Never rejects. */
  get closed(): Promise<TransportError | undefined> {
    if (this.#closed === undefined) {
      this.#closed = this.#over
        ? Promise.resolve(this.#endError)
        : new Promise((resolve) => {
            this.#resolveClosed = resolve;
          });
    }
    return this.#closed;
  }

  /**
   * Call `listener` once when the channel is over, with what {@link closed} resolves with (undefined after
   * a clean close, else the TransportError that ended it). Cheaper than `closed.then(...)` (no promise):
   * for a caller that watches every channel. Called synchronously as the stream closes, or from a
   * microtask when the channel is already over. An exception it throws is reported as uncaught, never
   * into the channel.
   */
  onClosed(listener: CloseListener): void {
    if (this.#over) {
      const err = this.#endError;
      queueMicrotask(() => callListener(listener, err));
      return;
    }
    if (this.#closeListener === undefined) this.#closeListener = listener;
    else this.#moreCloseListeners = append(this.#moreCloseListeners, listener);
  }

  /**
   * Encode `message` once and queue it. Resolves when the queued bytes are within the stream's write
   * high-water mark (backpressure reaches the caller). Rejects with TransportError: CHANNEL_CANCELLED
   * (the receiver cancelled), ENCODE_ERROR, REFERENCE_LIMIT, MESSAGE_TOO_LARGE, STREAM_CLOSED after
   * close()/error(), the session's error (SESSION_CLOSED, CONNECTION_LOST, ...).
   */
  send(message: T): Promise<void> {
    const refused = this.#refusal();
    if (refused !== undefined) return Promise.reject(refused);
    if (this.#port === undefined) {
      return new Promise((resolve, reject) => {
        this.#pending = append(this.#pending, { message, resolve, reject });
      });
    }
    let outcome: Outcome;
    try {
      outcome = this.#submit(this.#encode(message), undefined, undefined);
    } catch (err) {
      return Promise.reject(err);
    }
    if (outcome === Outcome.Written) return DONE;
    if (outcome === Outcome.Full) return this.#drained();
    const held = this.#held![this.#held!.length - 1]!;
    return new Promise((resolve, reject) => {
      held.resolve = resolve;
      held.reject = reject;
    });
  }

  /**
   * Encode `message` once and queue it, without a promise: for callers that send many messages and learn
   * the channel's end from `closed`. Returns true when the caller may write more now; false when the
   * message is waiting (the sender is unbound, or the reference gate holds it) or the stream is above its
   * write high-water mark: wait for {@link drained} before writing more (writing anyway only queues).
   *
   * Throws TransportError at once for what is known now: ENCODE_ERROR, REFERENCE_LIMIT, MESSAGE_TOO_LARGE,
   * STREAM_CLOSED after close()/error(), the channel's end (CHANNEL_CANCELLED, the session's error). A
   * message that fails later (encoded when an unbound sender is bound, or opened after the gate held it)
   * resets the channel, and `closed` resolves with that error; the ends a held message carried end with
   * it too (a Receiver errors, a Sender's `closed` resolves with it) instead of waiting unbound forever.
   */
  write(message: T): boolean {
    const refused = this.#refusal();
    if (refused !== undefined) throw refused;
    if (this.#port === undefined) {
      this.#pending = append(this.#pending, { message, resolve: undefined, reject: undefined });
      return false;
    }
    return this.#submit(this.#encode(message), undefined, undefined) === Outcome.Written;
  }

  /**
   * Resolves when write() may go on: the sender is bound, holds nothing back, and its stream is below the
   * write high-water mark. Rejects with the channel's end error (or STREAM_CLOSED once it closed).
   */
  drained(): Promise<void> {
    if (this.#endError !== undefined) return Promise.reject(this.#endError);
    if (this.#port === undefined || this.#held !== undefined) {
      // Rare: wait on an empty message slot behind what waits (it settles when they have gone).
      return new Promise((resolve, reject) => {
        const waiter: PendingSend = { message: undefined, resolve, reject };
        if (this.#port === undefined) this.#drainAfterBind = append(this.#drainAfterBind, waiter);
        else this.#held!.push({ record: EMPTY_RECORD, resolve, reject });
      });
    }
    return this.#drained();
  }

  /** drained() callers waiting for the bind. */
  #drainAfterBind: PendingSend[] | undefined;

  /** End normally: FIN after the queued messages. Idempotent; ignored after error(). */
  close(): void {
    if (this.#ending !== undefined) return;
    this.#ending = { kind: 'close' };
    if (this.#port !== undefined && this.#held === undefined) this.#end();
  }

  /**
   * End with an ERROR record `{ code, message, details }`, then FIN. The receiver's Observable errors with
   * CHANNEL_ERROR whose `remoteCode` is `code` and `details` is `details` (dropped if it cannot be
   * encoded). Idempotent; ignored after close().
   */
  error(code: string, message: string, details?: unknown): void {
    if (this.#ending !== undefined) return;
    this.#ending = { kind: 'error', code: String(code), message: String(message), details };
    if (this.#port !== undefined && this.#held === undefined) this.#end();
  }

  /** @internal True once bound, or once over without a stream (abandoned): it cannot be sent then. */
  get [kBound](): boolean {
    return this.#port !== undefined || this.#over;
  }

  /**
   * @internal The message carrying this unbound sender failed after it was accepted: the channel is
   * over with `reason` (what send() refuses with, `closed` and onClosed listeners report). A no-op once
   * bound or over.
   */
  [kAbandon](reason: TransportError): void {
    if (this.#port !== undefined || this.#over) return;
    this.#endError = reason;
    this[kClosed](reason);
  }

  /**
   * Bytes written on this channel that the connection has not taken yet (queued for the stream's send
   * window or the socket); 0 while unbound. A writer that keeps writing after write() returned false
   * grows this; it is how a caller bounds what it queues in bytes rather than in messages.
   */
  get bufferedBytes(): number {
    const port = this.#port;
    return port === undefined || port.isClosed ? 0 : port.stream.queuedBytes;
  }

  /** @internal Bind to a stream this side writes on; flushes sends made while unbound. */
  [kBind](host: ChannelHost, port: StreamPort): void {
    this.#bind(host, port, false);
  }

  /** @internal Bind to the write half of a DUPLEX stream; returns the handler duplex.ts composes. */
  [kBindShared](host: ChannelHost, port: StreamPort): PortHandler {
    return this.#bind(host, port, true);
  }

  /**
   * @internal write() of `record`, which the host just encoded (its scratch) for this bound sender: written
   * now, or held until the reference gate lets its streams open. Throws like write().
   */
  [kWriteEncoded](record: PreparedRecord): void {
    const refused = this.#refusal();
    if (refused !== undefined) throw refused;
    this.#submit(record, undefined, undefined);
  }

  #bind(host: ChannelHost, port: StreamPort, shared: boolean): PortHandler {
    this.#host = host;
    this.#port = port;
    const events = new SenderEvents(this);
    this.#events = events;
    if (!shared) port.attach(events, true);
    this.#flushUnbound();
    return events;
  }

  /** Writes what was sent while unbound, in order, then the ending asked for meanwhile. */
  #flushUnbound(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined) {
      for (const p of pending) {
        let outcome: Outcome;
        try {
          outcome = this.#submit(this.#encode(p.message), p.resolve, p.reject);
        } catch (err) {
          this.#failed(err as TransportError, p.reject);
          continue;
        }
        if (outcome === Outcome.Held || p.resolve === undefined) continue;
        if (outcome === Outcome.Written) p.resolve();
        else this.#drained().then(p.resolve, p.reject);
      }
    }
    const drainers = this.#drainAfterBind;
    this.#drainAfterBind = undefined;
    if (drainers !== undefined) {
      for (const d of drainers) {
        if (this.#held !== undefined)
          this.#held.push({ record: EMPTY_RECORD, resolve: d.resolve, reject: d.reject });
        else this.#drained().then(d.resolve, d.reject);
      }
    }
    if (this.#ending !== undefined && this.#held === undefined) this.#end();
  }

  /** Why a new message is refused now, if it is. */
  #refusal(): TransportError | undefined {
    if (this.#ending !== undefined) return transportError('STREAM_CLOSED', 'send() after close() or error()');
    return this.#endError;
  }

  #encode(message: unknown): PreparedRecord {
    try {
      return this.#host!.encode(message);
    } catch (err) {
      throw asTransportError(err);
    }
  }

  /**
   * Write `record` now, or hold it behind the messages already held, or when the gate says its
   * references may not open yet (in order: nothing overtakes a held message). Throws the write's error
   * as this sender sees it. A held message settles `resolve`/`reject` when it goes out.
   */
  #submit(
    record: PreparedRecord,
    resolve: (() => void) | undefined,
    reject: ((err: TransportError) => void) | undefined,
  ): Outcome {
    const host = this.#host!;
    const port = this.#port!;
    const n = record.prefaces.length;
    if (this.#held !== undefined || (n > 0 && !host.gate.mayOpen(port, n))) {
      this.#held = append(this.#held, { record: host.hold(record), resolve, reject });
      host.gate.wait(this.#events!);
      return Outcome.Held;
    }
    try {
      return host.write(port, record) ? Outcome.Written : Outcome.Full;
    } catch (err) {
      throw this.#reason(err);
    }
  }

  /** @internal The gate's retry: write the held messages that may go now. True when none is left. */
  [kRetry](): boolean {
    const held = this.#held;
    if (held === undefined) return true;
    const host = this.#host!;
    const port = this.#port!;
    while (held.length > 0) {
      if (port.isClosed) return true; // the port's close rejects what is left
      const h = held[0]!;
      const n = h.record.prefaces.length;
      if (n > 0 && !host.gate.mayOpen(port, n)) return false;
      held.shift();
      let ok = true;
      if (h.record !== EMPTY_RECORD) {
        try {
          ok = host.write(port, h.record);
        } catch (err) {
          const reason = this.#reason(err);
          // No caller to hand the message back to (write()): end its ends, or they would wait forever.
          if (h.reject === undefined) this.#host!.abandon(h.record, reason);
          this.#failed(reason, h.reject);
          continue;
        }
      }
      if (h.resolve === undefined) continue;
      if (ok) h.resolve();
      else this.#drained().then(h.resolve, h.reject);
    }
    this.#held = undefined;
    if (this.#ending !== undefined) this.#end();
    return true;
  }

  /** A message failed after send()/write() returned: its promise rejects, or (write()) the channel ends. */
  #failed(err: TransportError, reject: ((err: TransportError) => void) | undefined): void {
    if (reject !== undefined) {
      reject(err);
      return;
    }
    this.#localError ??= err;
    this.#port?.reset();
  }

  #drained(): Promise<void> {
    return this.#port!.drained().catch((err: unknown) => {
      throw this.#reason(err);
    });
  }

  #end(): void {
    const port = this.#port!;
    const ending = this.#ending!;
    if (port.isClosed) return;
    try {
      if (ending.kind === 'error') {
        port.write(this.#host!.encodeError(ending.code, ending.message, ending.details));
      }
    } catch {
      // Closed under us (`closed` says why), or an error record that cannot fit maxMessageSize: FIN alone.
    }
    port.end();
  }

  /** @internal The receiving side never writes on a channel stream. */
  [kData](): void {
    this.#localError ??= transportError('DECODE_ERROR', 'the receiver wrote on a channel stream');
    this.#port!.reset();
  }

  /** @internal The stream closed. */
  [kClosed](err: TransportError | undefined): void {
    if (err !== undefined) this.#endError = this.#reason(err);
    const pending = this.#pending;
    const held = this.#held;
    this.#pending = undefined;
    this.#held = undefined;
    if (pending !== undefined || held !== undefined) {
      // Made only when something waits: an error captures a stack.
      const reason = this.#endError ?? closedError();
      if (pending !== undefined) for (const p of pending) p.reject?.(reason);
      if (held !== undefined) {
        for (const h of held) {
          if (h.record === EMPTY_RECORD) h.reject?.(reason);
          else if (h.reject !== undefined) {
            this.#host!.release(h.record); // its caller gets it back with the rejection
            h.reject(reason);
          } else this.#host!.abandon(h.record, reason); // write(): nobody else would end its ends
        }
      }
    }
    this.#over = true;
    this.#resolveClosed?.(this.#endError);
    const first = this.#closeListener;
    const more = this.#moreCloseListeners;
    this.#closeListener = undefined;
    this.#moreCloseListeners = undefined;
    if (first !== undefined) callListener(first, this.#endError);
    if (more !== undefined) for (const l of more) callListener(l, this.#endError);
  }

  /** What a close error of the stream means to this sender. */
  #reason(err: unknown): TransportError {
    if (this.#endError !== undefined) return this.#endError;
    if (this.#localError !== undefined) return this.#localError;
    const e = asTransportError(err);
    if (e.code === 'STREAM_RESET') {
      return transportError('CHANNEL_CANCELLED', 'the receiver cancelled the channel', { cause: e });
    }
    return e;
  }
}

/** A drained() waiter queued behind held messages: nothing to write. */
const EMPTY_RECORD: PreparedRecord = { bytes: new Uint8Array(0), idOffsets: [], ends: [], prefaces: [] };

/** The port's handler and the gate's waiter for one Sender: one small object instead of closures. */
class SenderEvents implements PortHandler, GateWaiter {
  constructor(private readonly sender: Sender<unknown>) {}

  onData(): void {
    this.sender[kData]();
  }

  onEnd(): void {}

  onClose(err: TransportError | undefined): void {
    this.sender[kClosed](err);
  }

  retry(): boolean {
    return this.sender[kRetry]();
  }
}

/**
 * A listener given to {@link Sender.onClosed}: a function, or an object whose `channelClosed` is called
 * (so a caller that watches many channels needs no closure per channel).
 */
export type CloseListener =
  | ((err: TransportError | undefined) => void)
  | { channelClosed(err: TransportError | undefined): void };

function callListener(listener: CloseListener, err: TransportError | undefined): void {
  try {
    if (typeof listener === 'function') listener(err);
    else listener.channelClosed(err);
  } catch (e) {
    reportUnhandled(e);
  }
}

/** `list` with `item` at its end; the list is made on first use (most senders never queue anything). */
function append<I>(list: I[] | undefined, item: I): I[] {
  if (list === undefined) return [item];
  list.push(item);
  return list;
}

function closedError(): TransportError {
  return transportError('STREAM_CLOSED', 'the channel is closed');
}

/** Anything thrown below is a TransportError; a stray Error becomes ENCODE_ERROR (it came from encoding). */
export function asTransportError(err: unknown): TransportError {
  if (isTransportError(err)) return err;
  return transportError('ENCODE_ERROR', err instanceof Error ? err.message : String(err), { cause: err });
}
