/**
 * Sender: the writing end of a channel.
 */
import { isTransportError, type TransportError, transportError } from '../errors.js';
import { type ChannelHost, kBind, kBound } from './internal.js';
import type { PortHandler, StreamPort } from './port.js';
import { reportUnhandled } from './report.js';

interface PendingSend {
  readonly message: unknown;
  readonly resolve: () => void;
  readonly reject: (err: TransportError) => void;
}

type Ending = { kind: 'close' } | { kind: 'error'; code: string; message: string; details: unknown };

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
  /** Resolves when the channel is over: undefined after close()/error() went out and the stream closed,
   *  or the TransportError that ended it (CHANNEL_CANCELLED when the receiver cancelled). Never rejects. */
  readonly closed: Promise<TransportError | undefined>;

  #host: ChannelHost | undefined;
  #port: StreamPort | undefined;
  #pending: PendingSend[] = [];
  #ending: Ending | undefined;
  /** Why the channel is over, once it is over with an error. */
  #endError: TransportError | undefined;
  /** Set when we reset the stream ourselves, so its STREAM_RESET is not read as the receiver's cancel. */
  #localError: TransportError | undefined;
  #resolveClosed!: (err: TransportError | undefined) => void;

  constructor() {
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /**
   * Encode `message` once and queue it. Resolves when the queued bytes are within the stream's write
   * high-water mark (backpressure reaches the caller). Rejects with TransportError: CHANNEL_CANCELLED
   * (the receiver cancelled), ENCODE_ERROR, REFERENCE_LIMIT, MESSAGE_TOO_LARGE, STREAM_CLOSED after
   * close()/error(), the session's error (SESSION_CLOSED, CONNECTION_LOST, ...).
   */
  send(message: T): Promise<void> {
    if (this.#ending !== undefined) {
      return Promise.reject(transportError('STREAM_CLOSED', 'send() after close() or error()'));
    }
    if (this.#endError !== undefined) return Promise.reject(this.#endError);
    if (this.#port === undefined) {
      return new Promise((resolve, reject) => this.#pending.push({ message, resolve, reject }));
    }
    return this.#write(message);
  }

  /** End normally: FIN after the queued messages. Idempotent; ignored after error(). */
  close(): void {
    if (this.#ending !== undefined) return;
    this.#ending = { kind: 'close' };
    if (this.#port !== undefined) this.#end();
  }

  /**
   * End with an ERROR record `{ code, message, details }`, then FIN. The receiver's Observable errors with
   * CHANNEL_ERROR whose `remoteCode` is `code` and `details` is `details` (dropped if it cannot be
   * encoded). Idempotent; ignored after close().
   */
  error(code: string, message: string, details?: unknown): void {
    if (this.#ending !== undefined) return;
    this.#ending = { kind: 'error', code: String(code), message: String(message), details };
    if (this.#port !== undefined) this.#end();
  }

  /** @internal */
  get [kBound](): boolean {
    return this.#port !== undefined;
  }

  /** @internal Bind to a stream this side writes on; flushes sends made while unbound. */
  [kBind](host: ChannelHost, port: StreamPort): void {
    this.#host = host;
    this.#port = port;
    port.attach(this.#handler(), true);
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) this.#write(p.message).then(p.resolve, p.reject);
    if (this.#ending !== undefined) this.#end();
  }

  /** Encode, write, bind the ends. Never throws: every failure is a rejected promise. */
  #write(message: unknown): Promise<void> {
    const port = this.#port!;
    let record: ReturnType<ChannelHost['encode']>;
    try {
      record = this.#host!.encode(message);
    } catch (err) {
      return Promise.reject(asTransportError(err));
    }
    let ok: boolean;
    try {
      ok = port.write(record.bytes);
    } catch (err) {
      record.abort();
      return Promise.reject(this.#reason(err));
    }
    try {
      record.commit();
    } catch (err) {
      // A bug binding the ends: the message is out, so report it rather than fail the send.
      reportUnhandled(err);
    }
    if (ok) return Promise.resolve();
    return port.drained().catch((err: unknown) => {
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

  #handler(): PortHandler {
    return {
      onData: () => {
        // The receiving side never writes on a channel stream.
        this.#localError ??= transportError('DECODE_ERROR', 'the receiver wrote on a channel stream');
        this.#port!.reset();
      },
      onEnd: () => {},
      onClose: (err) => {
        if (err !== undefined) this.#endError = this.#reason(err);
        for (const p of this.#pending.splice(0)) p.reject(this.#endError ?? closedError());
        this.#resolveClosed(this.#endError);
      },
    };
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

function closedError(): TransportError {
  return transportError('STREAM_CLOSED', 'the channel is closed');
}

/** Anything thrown below is a TransportError; a stray Error becomes ENCODE_ERROR (it came from encoding). */
export function asTransportError(err: unknown): TransportError {
  if (isTransportError(err)) return err;
  return transportError('ENCODE_ERROR', err instanceof Error ? err.message : String(err), { cause: err });
}
