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
  /** The peer half-closed; delivered only when not paused and after all data. */
  onEnd(): void;
  /** Exactly once, last. undefined: both sides finished; else the reset or session error. */
  onClose(err: TransportError | undefined): void;
  onDrain?(): void;
}

/** Called once with the first byte of an inbound stream; the port is paused when it is called. */
export type PrefaceHandler = (port: StreamPort, preface: number) => void;

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
  private paused = false;
  private remoteEnded = false;
  private endDelivered = false;
  private closed = false;
  private closeError: TransportError | undefined = undefined;
  private closeDelivered = false;
  private draining = false;
  /** attach() asked for a resume (true) or a flush (false) once the microtask runs. */
  private resumeOnReplay = false;

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
    return this.closed;
  }

  /** The reset or session error that closed the stream, if it closed with one. */
  get error(): TransportError | undefined {
    return this.closeError;
  }

  /**
   * Give the stream to `handler` (once), paused or resuming. Held data, an end or a close that already
   * happened are delivered from a microtask, so the handler is never called back from inside the code
   * that attached it (a claim in the middle of decoding a message). A paused attach with nothing to
   * deliver needs no microtask.
   */
  attach(handler: PortHandler, resume: boolean): void {
    this.handler = handler;
    if (!resume) {
      this.pause();
      if (this.held === undefined && !this.remoteEnded && !this.closed) return;
    }
    this.resumeOnReplay = resume;
    replaySoon(this);
  }

  /** @internal The microtask attach() scheduled. */
  replay(): void {
    if (this.resumeOnReplay) this.resume();
    else this.flush();
  }

  /** Stop deliveries; the peer stops at the stream window. */
  pause(): void {
    this.paused = true;
    if (!this.closed) this.stream.pause();
  }

  /** Deliver what is held, then let the stream flow. */
  resume(): void {
    if (this.handler === undefined) return;
    this.paused = false;
    this.flush();
    if (!this.paused && !this.closed) this.stream.resume();
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
    this.held = undefined;
    this.stream.reset();
  }

  // ------------------------------------------------------------------ from the multiplexer

  /** @internal StreamListener. */
  onData(chunk: Uint8Array): void {
    if (this.onPreface !== undefined) {
      if (chunk.length === 0) return;
      const route = this.onPreface;
      this.onPreface = undefined;
      this.preface = chunk[0]!;
      this.pause();
      if (chunk.length > 1) this.hold(chunk.subarray(1));
      route(this, chunk[0]!);
      return;
    }
    const h = this.handler;
    if (h === undefined || this.paused || this.draining || this.held !== undefined) {
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
    this.remoteEnded = true;
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
    this.closed = true;
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

  private hold(chunk: Uint8Array): void {
    if (this.held === undefined) this.held = [chunk];
    else this.held.push(chunk);
  }

  /** Deliver held data, then the end, then the close, as far as the handler and the pause allow.
   *  Not re-entrant: what arrives while it runs is held and delivered by the same loop. */
  private flush(): void {
    const h = this.handler;
    if (h === undefined || this.draining) return;
    this.draining = true;
    try {
      while (!this.paused && this.held !== undefined) {
        const chunk = this.held.shift()!;
        if (this.held.length === 0) this.held = undefined;
        try {
          h.onData(chunk);
        } catch (err) {
          this.handlerFailed(err);
        }
      }
      if (!this.paused && this.held === undefined && this.remoteEnded && !this.endDelivered) {
        this.endDelivered = true;
        try {
          h.onEnd();
        } catch (err) {
          this.handlerFailed(err);
        }
      }
      const clean = this.held === undefined && (this.endDelivered || !this.remoteEnded);
      if (this.closed && !this.closeDelivered && (this.closeError !== undefined || clean)) {
        this.closeDelivered = true;
        try {
          h.onClose(this.closeError);
        } catch (err) {
          this.handlerFailed(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** A bug in a handler: the stream cannot go on consistently. */
  private handlerFailed(err: unknown): void {
    reportUnhandled(err);
    if (!this.closed) this.stream.reset();
  }
}
