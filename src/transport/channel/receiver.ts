/**
 * Receiver: the reading end of a channel, an RxJS Observable of its messages and an async iterable.
 */
import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import { type ChannelHost, kAbandon, kBind, kBindShared, kBound } from './internal.js';
import type { PortHandler, StreamPort } from './port.js';
import { holdsWholeRecords, RecordParser, type RecordSink, RecordType } from './record.js';
import { reportUnhandled } from './report.js';

/** The async iterator pauses the stream when this many messages wait in its buffer... */
export const ITERATOR_HIGH_WATER = 64;
/** ...and resumes it when the buffer is down to this many. */
export const ITERATOR_LOW_WATER = 8;

/**
 * The receiving end of a channel: an Observable of its messages (one subscriber: a second subscribe errors
 * with ALREADY_SUBSCRIBED) and an async iterable (with backpressure: the stream is paused while the
 * iterator's buffer is full).
 *
 * `new Receiver<T>()` makes an UNBOUND receiver to put inside a message: the peer gets the matching Sender.
 * Messages arriving before anyone subscribes wait in the multiplexer, up to the stream window (the stream
 * is paused, so the sender's send() stays pending beyond that).
 *
 * Completes on the sender's close(). Errors with CHANNEL_ERROR (the sender's error(), with `remoteCode`
 * and `details`), DECODE_ERROR, MESSAGE_TOO_LARGE, BAD_REFERENCE, REFERENCE_LIMIT (a bad message: the
 * stream is reset), STREAM_RESET, or the session's error. Unsubscribing before completion cancels the
 * channel (RST): the sender sees CHANNEL_CANCELLED.
 *
 * ```ts
 * const receiver = await session.accept<string>();
 * for await (const text of receiver) console.log(text);
 * // Logs: each message, then the loop ends when the sender closes
 * ```
 */
export class Receiver<T = unknown> extends Observable<T> implements AsyncIterable<T> {
  readonly #core = new ReceiverCore<T>();

  /**
   * @internal RxJS calls this for each subscribe (Observable's own hook, overridden instead of passing a
   * subscribe function to the constructor: no closure per Receiver).
   */
  protected _subscribe(subscriber: Subscriber<T>): TeardownLogic {
    return this.#core.subscribe(subscriber);
  }

  /**
   * Read the channel with `observer` instead of subscribing: no RxJS subscriber is made, for a caller that
   * reads many channels (one per call). It counts as the Receiver's one subscriber (a later subscribe() or
   * consume() gets ALREADY_SUBSCRIBED); end it early with {@link cancel}. `observer` gets `next` per
   * message, then exactly one of `complete` / `error` (the same errors as subscribe()). An exception a
   * callback throws is reported as uncaught, and the channel goes on, as with an RxJS subscriber.
   */
  consume(observer: ReceiverObserver<T>): void {
    this.#core.subscribe(observer);
  }

  /** Cancel the channel (RST; the sender sees CHANNEL_CANCELLED). A subscriber completes. Idempotent;
   *  a no-op once the channel is over. On an unbound receiver it takes effect when it is bound. */
  cancel(): void {
    this.#core.cancel();
  }

  /**
   * Stop delivering messages to the reader (a consume() observer or the subscriber): the stream pauses,
   * so the peer stops at the stream window. {@link resume} undoes it. For readers that pull at their
   * own pace; the async iterator does this by itself.
   */
  pause(): void {
    this.#core.setFlowPaused(true);
  }

  /** Deliver messages again after {@link pause} (those that waited come first). */
  resume(): void {
    this.#core.setFlowPaused(false);
  }

  /** Iterate the messages; breaking out of the loop cancels the channel unless it already completed. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return iterate(this, this.#core);
  }

  /** @internal */
  get [kBound](): boolean {
    return this.#core.bound;
  }

  /** @internal Bind to a stream this side reads from. */
  [kBind](host: ChannelHost, port: StreamPort): void {
    this.#core.bind(host, port, false, true);
  }

  /**
   * @internal Bind to the read half of a DUPLEX stream; returns the port's handler, for duplex.ts to
   * attach. `resetOnError` false: a bad record (or an ERROR record) ends this half for the reader but
   * leaves the stream, so the other half can still answer; what the peer writes afterwards is discarded.
   * `writer`: the handler of this side's half (a Sender's), told of the stream's close after the reader.
   */
  [kBindShared](
    host: ChannelHost,
    port: StreamPort,
    resetOnError: boolean,
    writer: PortHandler | undefined,
  ): PortHandler {
    this.#core.bind(host, port, true, resetOnError);
    this.#core.writer = writer;
    return this.#core;
  }

  /** @internal The message carrying this unbound receiver failed: error with `reason` (see internal.ts). */
  [kAbandon](reason: TransportError): void {
    this.#core.abandon(reason);
  }
}

/** What {@link Receiver.consume} delivers to; an RxJS Subscriber is one too. */
export interface ReceiverObserver<T> {
  next(value: T): void;
  error(err: unknown): void;
  complete(): void;
}

/** Call a consumer's callback; what it throws is reported, never thrown into the stream. */
function deliverNext<T>(o: ReceiverObserver<T>, value: T): void {
  try {
    o.next(value);
  } catch (err) {
    reportUnhandled(err);
  }
}

function deliverError(o: ReceiverObserver<never> | undefined, err: unknown): void {
  if (o === undefined) return;
  try {
    o.error(err);
  } catch (e) {
    reportUnhandled(e);
  }
}

function deliverComplete(o: ReceiverObserver<never> | undefined): void {
  if (o === undefined) return;
  try {
    o.complete();
  } catch (e) {
    reportUnhandled(e);
  }
}

/**
 * The state behind a Receiver; also its port's handler and its record parser's sink (one object, no
 * closures).
 */
class ReceiverCore<T> implements PortHandler, RecordSink {
  private host: ChannelHost | undefined = undefined;
  private port: StreamPort | undefined = undefined;
  /** Made with the first chunk that ends inside a record (see onData): an idle channel, or one whose
   *  chunks hold whole records, needs none. */
  private parser: RecordParser | undefined = undefined;
  /** The one consumer: an RxJS Subscriber, or a consume() observer. */
  private subscriber: ReceiverObserver<T> | undefined = undefined;
  private subscribed = false;
  /** The iterator's buffer is full. */
  private flowPaused = false;
  /** The consumer has seen (or will see) the end: complete, error or cancel. */
  private done = false;
  private terminal: TransportError | undefined = undefined;
  /** An ERROR record ended the channel; read on until the sender's FIN, so the stream closes cleanly. */
  private draining = false;

  /** Its message failed before it was bound: it never will be. */
  private abandoned = false;
  /** A bad record resets the stream (false on the read half of a DUPLEX stream we accepted). */
  private resetOnError = true;
  /** On a DUPLEX stream, the handler of the write half sharing the port: it gets onClose after us. */
  writer: PortHandler | undefined = undefined;
  /** This half failed without a reset: what the peer still writes is read and dropped. */
  private discarding = false;

  get bound(): boolean {
    return this.port !== undefined || this.abandoned;
  }

  /** See Receiver[kAbandon]. A no-op once bound; a consumer that already ended it keeps its end. */
  abandon(reason: TransportError): void {
    if (this.port !== undefined || this.abandoned) return;
    this.abandoned = true;
    if (!this.done) this.fail(reason);
  }

  bind(host: ChannelHost, port: StreamPort, shared: boolean, resetOnError: boolean): void {
    this.host = host;
    this.port = port;
    this.resetOnError = resetOnError;
    if (!shared) port.attach(this, false);
    if (this.done)
      port.reset(); // cancelled before it was bound
    else this.updateFlow();
  }

  subscribe(subscriber: ReceiverObserver<T>): TeardownLogic {
    if (this.subscribed) {
      deliverError(subscriber, transportError('ALREADY_SUBSCRIBED', 'a Receiver has exactly one subscriber'));
      return undefined;
    }
    this.subscribed = true;
    if (this.done) {
      if (this.terminal !== undefined) deliverError(subscriber, this.terminal);
      else deliverComplete(subscriber);
      return undefined;
    }
    this.subscriber = subscriber;
    this.updateFlow();
    return this; // its unsubscribe() is the teardown
  }

  /** The subscriber unsubscribed (or completed / errored): cancel unless the channel is already over. */
  unsubscribe(): void {
    this.subscriber = undefined;
    if (!this.done) this.finish(undefined, true);
  }

  cancel(): void {
    if (this.done) return;
    const s = this.subscriber;
    this.finish(undefined, true);
    deliverComplete(s);
  }

  /** The iterator's buffer filled up or emptied. */
  setFlowPaused(paused: boolean): void {
    this.flowPaused = paused;
    this.updateFlow();
  }

  private updateFlow(): void {
    const port = this.port;
    if (port === undefined || (this.done && !this.draining && !this.discarding)) return;
    if (this.draining || this.discarding || (this.subscriber !== undefined && !this.flowPaused))
      port.resume();
    else port.pause();
  }

  /** The channel is over for the consumer. `reset`: cancel the stream too. */
  private finish(err: TransportError | undefined, reset: boolean): void {
    this.done = true;
    this.terminal = err;
    this.subscriber = undefined;
    if (reset) this.port?.reset();
  }

  private fail(err: TransportError): void {
    const s = this.subscriber;
    this.finish(err, this.resetOnError);
    if (!this.resetOnError) {
      this.discarding = true;
      this.updateFlow();
    }
    deliverError(s, err);
  }

  // ------------------------------------------------------------------ PortHandler

  onEnd(): void {
    if (this.done) return;
    if (this.parser !== undefined && !this.parser.idle) {
      this.fail(transportError('DECODE_ERROR', 'the channel ended in the middle of a record'));
      return;
    }
    const s = this.subscriber;
    this.finish(undefined, false);
    deliverComplete(s);
  }

  onClose(err: TransportError | undefined): void {
    // The reader first: a reply that completed must not look like a failure of the writer's end.
    if (!this.done) {
      const s = this.subscriber;
      this.finish(err, false);
      if (err === undefined) deliverComplete(s);
      else deliverError(s, err);
    }
    this.writer?.onClose(err);
  }

  onData(chunk: Uint8Array): void {
    this.onDataAt(chunk, 0, chunk.length);
  }

  onDataAt(chunk: Uint8Array, start: number, end: number): void {
    if (this.done) {
      // Nothing may follow an ERROR record.
      if (this.draining && this.resetOnError) this.port!.reset();
      return;
    }
    let error: TransportError | undefined;
    const host = this.host!;
    const shared = host.sharedParser;
    if (this.parser === undefined && shared !== undefined && holdsWholeRecords(chunk, start, end)) {
      // No record in progress and none left over: the session's parser does, and keeps no state for us
      // (a reply channel's one record costs no parser). Taken while in use: a nested delivery makes its own.
      host.sharedParser = undefined;
      try {
        error = shared.feedAt(chunk, start, end, this);
      } finally {
        shared.reset();
        host.sharedParser = shared;
      }
    } else {
      if (this.parser === undefined) this.parser = new RecordParser(host.config.maxMessageSize);
      error = this.parser.feedAt(chunk, start, end, this);
    }
    if (error !== undefined && !this.done) this.fail(error);
  }

  // ------------------------------------------------------------------ RecordSink

  record(type: RecordType, bytes: Uint8Array, start: number, length: number): boolean {
    if (this.done) {
      if (this.draining && this.resetOnError) this.port!.reset();
      return false;
    }
    const host = this.host!;
    if (type === RecordType.MESSAGE) {
      let value: unknown;
      try {
        value = host.decode(bytes, start, length);
      } catch (err) {
        this.fail(typed(err));
        return false;
      }
      const s = this.subscriber;
      if (s !== undefined) deliverNext(s, value as T);
      return true;
    }
    let errorBody: ReturnType<ChannelHost['decodeError']>;
    try {
      errorBody = host.decodeError(new Uint8Array(bytes.buffer, bytes.byteOffset + start, length));
    } catch (err) {
      this.fail(typed(err));
      return false;
    }
    const s = this.subscriber;
    this.finish(
      transportError('CHANNEL_ERROR', errorBody.message, {
        remoteCode: errorBody.code,
        details: errorBody.details,
      }),
      false,
    );
    this.draining = true;
    this.updateFlow();
    deliverError(s, this.terminal);
    return true;
  }
}

function typed(err: unknown): TransportError {
  return isTransportError(err)
    ? err
    : transportError('DECODE_ERROR', err instanceof Error ? err.message : String(err), { cause: err });
}

/** A pull iterator over the Receiver, pausing the stream while its buffer is full. */
function iterate<T>(source: Observable<T>, core: ReceiverCore<T>): AsyncIterator<T> {
  const buffer: T[] = [];
  let head = 0;
  let ended = false;
  let paused = false;
  let failure: { err: unknown } | undefined;
  const waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  const settle = () => {
    for (const w of waiters.splice(0)) {
      if (failure !== undefined) {
        w.reject(failure.err);
        failure = undefined;
      } else w.resolve({ value: undefined, done: true });
    }
  };
  const subscription = source.subscribe({
    next(value) {
      const w = waiters.shift();
      if (w !== undefined) {
        w.resolve({ value, done: false });
        return;
      }
      buffer.push(value);
      if (!paused && buffer.length - head >= ITERATOR_HIGH_WATER) {
        paused = true;
        core.setFlowPaused(true);
      }
    },
    error(err) {
      ended = true;
      failure = { err };
      if (head === buffer.length) settle();
    },
    complete() {
      ended = true;
      if (head === buffer.length) settle();
    },
  });
  return {
    next(): Promise<IteratorResult<T>> {
      if (head < buffer.length) {
        const value = buffer[head]!;
        buffer[head++] = undefined as T;
        if (head === buffer.length) {
          buffer.length = 0;
          head = 0;
        }
        if (paused && !ended && buffer.length - head <= ITERATOR_LOW_WATER) {
          paused = false;
          core.setFlowPaused(false);
        }
        return Promise.resolve({ value, done: false });
      }
      if (failure !== undefined) {
        const { err } = failure;
        failure = undefined;
        return Promise.reject(err);
      }
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    return(): Promise<IteratorResult<T>> {
      ended = true;
      failure = undefined;
      buffer.length = 0;
      head = 0;
      subscription.unsubscribe();
      settle();
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}
