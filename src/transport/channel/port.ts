/**
 * StreamPort: the one listener a multiplexer stream gets, forwarding to a handler that can be attached
 * later. Inbound streams are routed by their preface before anyone owns them, and an end may be claimed
 * long after its stream arrived; the port holds what arrived meanwhile and replays it, in order, to the
 * handler that claims it.
 *
 * Pausing is the consumer's: a port starts paused when it has no handler (the multiplexer buffers up to
 * the stream window), and a handler resumes it when it wants data. Handler callbacks never throw into the
 * multiplexer: an exception resets the stream.
 */
import type { TransportError } from '../errors.js';
import type { Stream, StreamListener } from '../mux/index.js';
import { reportUnhandled } from './report.js';

/** What a port delivers. Same contract as the multiplexer's StreamListener. */
export interface PortHandler {
  onData(chunk: Uint8Array): void;
  /** Optional, used instead of onData for bytes that were not held: `buf[start, end)`, as the
   *  multiplexer's StreamListener.onDataAt (no view object; nothing outside the range may be touched). */
  onDataAt?(buf: Uint8Array, start: number, end: number): void;
  /** The peer half-closed; delivered only when not paused and after all data. */
  onEnd(): void;
  /** Exactly once, last. undefined: both sides finished; else the reset or session error. */
  onClose(err: TransportError | undefined): void;
  onDrain?(): void;
}

/** Called once with the first byte of an inbound stream; the port is paused when it is called. */
export type PrefaceHandler = (port: StreamPort, preface: number) => void;

// StreamPort state bits.

/** Deliveries stopped (by the consumer, or until a handler is attached). */
const PAUSED = 1;
/** The peer's FIN arrived. */
const REMOTE_ENDED = 2;
/** The handler got onEnd. */
const END_DELIVERED = 4;
/** The stream left the multiplexer. */
const CLOSED = 8;
/** The handler got onClose. */
const CLOSE_DELIVERED = 16;
/** flush() is running (it is not re-entrant). */
const DRAINING = 32;
/** attach() asked for a resume (set) or a flush (clear) once the microtask runs. */
const RESUME_ON_REPLAY = 64;
/** reset() was called (the multiplexer may tell the close later). */
const RESET = 128;

/**
 * Ports whose handler gets what was held, from a microtask (see {@link StreamPort.attach}). One queue and
 * one microtask per batch rather than a closure per port: every call attaches two ports.
 */
let replayQueue: StreamPort[] = [];
let replayScheduled = false;

function replaySoon(port: StreamPort): void {
  replayQueue.push(port);
  if (replayScheduled) return;
  replayScheduled = true;
  queueMicrotask(replayAll);
}

function replayAll(): void {
  replayScheduled = false;
  const ports = replayQueue;
  replayQueue = [];
  for (const port of ports) port.replay();
}

/**
 * The port is the stream's listener itself (its onData/onEnd/onClose/onDrain are for the multiplexer
 * only): one object per stream, no closures.
 */
export class StreamPort implements StreamListener {
  /** Called when the stream closes while no handler owns it (an unclaimed stream the peer reset). */
  onOrphanClose: ((port: StreamPort) => void) | undefined = undefined;
  /** The preface the peer opened an inbound stream with (0 until it is read, and for our own streams). */
  preface = 0;
  private handler: PortHandler | undefined = undefined;
  private onPreface: PrefaceHandler | undefined;
  /** Data that arrived with no handler, or while paused (delivery order kept). Made when first needed. */
  private held: Uint8Array[] | undefined = undefined;
  /** State bits (PAUSED, CLOSED, ... below): one small integer instead of seven boolean fields, since
   *  every stream has a port. */
  private bits = 0;
  private closeError: TransportError | undefined = undefined;

  /**
   * Takes `stream` (it must have no listener yet). With `onPreface`, the first data byte is the preface:
   * the port pauses, keeps the rest, and calls `onPreface`.
   */
  constructor(
    readonly stream: Stream,
    onPreface?: PrefaceHandler,
  ) {
    this.onPreface = onPreface;
    stream.listen(this);
  }

  get id(): number {
    return this.stream.id;
  }

  /** True once the stream has left the multiplexer (closed or reset). */
  get isClosed(): boolean {
    return this.is(CLOSED);
  }

  /** The reset or session error that closed the stream, if it closed with one. */
  get error(): TransportError | undefined {
    return this.closeError;
  }

  /**
   * Give the stream to `handler` (once), paused or resuming. Held data, an end or a close that already
   * happened are delivered from a microtask, so the handler is never called back from inside the code
   * that attached it (a claim in the middle of decoding a message). A paused attach needs no microtask
   * unless the stream has closed: held data and the end wait for a resume, and only the close is
   * delivered while paused.
   */
  attach(handler: PortHandler, resume: boolean): void {
    this.handler = handler;
    if (!resume) {
      this.pause();
      if (!this.is(CLOSED)) return;
    }
    this.bits = resume ? this.bits | RESUME_ON_REPLAY : this.bits & ~RESUME_ON_REPLAY;
    replaySoon(this);
  }

  /** @internal The microtask attach() scheduled. */
  replay(): void {
    if (this.is(RESUME_ON_REPLAY)) this.resume();
    else this.flush();
  }

  /** Stop deliveries; the peer stops at the stream window. */
  pause(): void {
    this.bits |= PAUSED;
    if (!this.is(CLOSED)) this.stream.pause();
  }

  /** Deliver what is held, then let the stream flow. */
  resume(): void {
    if (this.handler === undefined) return;
    this.bits &= ~PAUSED;
    this.flush();
    if (!this.is(PAUSED) && !this.is(CLOSED)) this.stream.resume();
  }

  /** Queue bytes (not copied). Throws like Stream.write (STREAM_CLOSED, the reset error). */
  write(data: Uint8Array): boolean {
    return this.stream.write(data);
  }

  drained(): Promise<void> {
    return this.stream.drained();
  }

  /** FIN after the queued data. Idempotent. */
  end(): void {
    this.stream.end();
  }

  /** RST now (a no-op once closed). The handler gets onClose(STREAM_RESET). */
  reset(): void {
    this.bits |= RESET;
    this.held = undefined;
    this.stream.reset();
  }

  // ------------------------------------------------------------------ from the multiplexer

  /** @internal StreamListener: the bytes with no view, passed on as they are when nothing is held. */
  onDataAt(buf: Uint8Array, start: number, end: number): void {
    if (this.onPreface !== undefined) {
      this.routePreface(buf, start, end); // an inbound stream's first bytes: no view for the preface
      return;
    }
    const h = this.handler;
    if (h?.onDataAt === undefined || this.is(PAUSED) || this.is(DRAINING) || this.held !== undefined) {
      this.onData(new Uint8Array(buf.buffer, buf.byteOffset + start, end - start));
      return;
    }
    try {
      h.onDataAt(buf, start, end);
    } catch (err) {
      this.handlerFailed(err);
    }
  }

  /** @internal StreamListener. */
  onData(chunk: Uint8Array): void {
    if (this.onPreface !== undefined) {
      this.routePreface(chunk, 0, chunk.length);
      return;
    }
    const h = this.handler;
    if (h === undefined || this.is(PAUSED) || this.is(DRAINING) || this.held !== undefined) {
      this.hold(chunk);
      return;
    }
    try {
      h.onData(chunk);
    } catch (err) {
      this.handlerFailed(err);
    }
  }

  /** @internal StreamListener. */
  onEnd(): void {
    this.bits |= REMOTE_ENDED;
    if (this.onPreface !== undefined) {
      // FIN before any preface: the stream names nothing.
      this.onPreface = undefined;
      this.stream.reset();
      return;
    }
    this.flush();
  }

  /** @internal StreamListener. */
  onClose(err: TransportError | undefined): void {
    this.bits |= CLOSED;
    this.closeError = err;
    this.onPreface = undefined;
    if (err !== undefined) this.held = undefined;
    if (this.handler === undefined) {
      const orphan = this.onOrphanClose;
      this.onOrphanClose = undefined;
      try {
        orphan?.(this);
      } catch (e) {
        reportUnhandled(e);
      }
      return;
    }
    this.flush();
  }

  /** @internal StreamListener. */
  onDrain(): void {
    const h = this.handler;
    if (h?.onDrain === undefined) return;
    try {
      h.onDrain();
    } catch (err) {
      this.handlerFailed(err);
    }
  }

  /**
   * The first data of an inbound stream: its first byte is the preface, routed while the port is paused.
   * The rest follows once the route returns, as any data: to the handler when one attached and resumed
   * meanwhile, else held (nothing, once the stream is reset or closed).
   */
  private routePreface(buf: Uint8Array, start: number, end: number): void {
    if (end === start) return;
    const route = this.onPreface!;
    this.onPreface = undefined;
    const preface = buf[start]!;
    this.preface = preface;
    this.pause();
    route(this, preface);
    if (end - start > 1 && !this.is(CLOSED | RESET)) this.onDataAt(buf, start + 1, end);
  }

  private is(bit: number): boolean {
    return (this.bits & bit) !== 0;
  }

  private hold(chunk: Uint8Array): void {
    if (this.held === undefined) this.held = [chunk];
    else this.held.push(chunk);
  }

  /** Deliver held data, then the end, then the close, as far as the handler and the pause allow.
   *  Not re-entrant: what arrives while it runs is held and delivered by the same loop. */
  private flush(): void {
    const h = this.handler;
    if (h === undefined || this.is(DRAINING)) return;
    this.bits |= DRAINING;
    try {
      while (!this.is(PAUSED) && this.held !== undefined) {
        const chunk = this.held.shift()!;
        if (this.held.length === 0) this.held = undefined;
        try {
          h.onData(chunk);
        } catch (err) {
          this.handlerFailed(err);
        }
      }
      if (!this.is(PAUSED) && this.held === undefined && this.is(REMOTE_ENDED) && !this.is(END_DELIVERED)) {
        this.bits |= END_DELIVERED;
        try {
          h.onEnd();
        } catch (err) {
          this.handlerFailed(err);
        }
      }
      const clean = this.held === undefined && (this.is(END_DELIVERED) || !this.is(REMOTE_ENDED));
      if (this.is(CLOSED) && !this.is(CLOSE_DELIVERED) && (this.closeError !== undefined || clean)) {
        this.bits |= CLOSE_DELIVERED;
        try {
          h.onClose(this.closeError);
        } catch (err) {
          this.handlerFailed(err);
        }
      }
    } finally {
      this.bits &= ~DRAINING;
    }
  }

  /** A bug in a handler: the stream cannot go on consistently. */
  private handlerFailed(err: unknown): void {
    reportUnhandled(err);
    if (!this.is(CLOSED)) this.stream.reset();
  }
}
