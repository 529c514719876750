/**
 * What every stream has, whatever it sends: its identity and lifecycle, the frames that open it (SYN/ACK,
 * the window announcement), and its receive side. {@link Stream} adds the send side and is the only
 * subclass; the split is by file size, along the line between receiving and sending.
 *
 * Receive side: the peer may send at most `recvWindow` more bytes. Data goes straight to the listener
 * when it is attached and not paused, else it is buffered (never more than the window, since the peer is
 * stopped there). Credit is returned in one WindowUpdate once the consumer has taken at least half the
 * window, never while paused. The window starts at `streamWindow` and may grow when the consumer keeps
 * up ({@link WindowTuner}): the growth rides on a credit as extra delta.
 *
 * Size: most streams are short (a call's reply) or idle (a subscription), so a stream is one object of
 * plain fields: its yes/no facts share one number ({@link Bit}), the send and receive queues are made
 * only when bytes must wait, and what follows from the config (window size, announcement) is computed,
 * not stored.
 */
import { type TransportError, transportError } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { Flag, FrameType, INITIAL_STREAM_WINDOW } from './frame.js';
import type { StreamHost, StreamListener } from './listener.js';
import { reportUnhandled } from './report.js';
import type { Session } from './session.js';
import { Bit, StreamState } from './stream-state.js';

export abstract class StreamCore {
  protected _state: StreamState;
  /** Yes/no facts, one {@link Bit} each. */
  protected bits: number;
  /** Bytes the peer may still send before our next credit. */
  protected recvWindow = INITIAL_STREAM_WINDOW;
  /** Bytes the consumer took that are not yet credited back. */
  private unacked = 0;
  /** Growth granted by the session's tuner (the window is streamWindow + grown), given back at the end. */
  protected grown = 0;
  /** When the previous credit went out (or the first inbound Data arrived), ms; 0 before any data. */
  private epochStart = 0;
  /** Received bytes waiting for the listener; made on the first chunk that has to wait. */
  protected buffered: ChunkQueue | undefined = undefined;
  protected listener: StreamListener | undefined = undefined;
  protected closeError: TransportError | undefined = undefined;

  constructor(
    protected readonly host: StreamHost,
    readonly id: number,
    outbound: boolean,
  ) {
    this._state = outbound ? StreamState.SynSent : StreamState.SynReceived;
    this.bits = outbound ? Bit.Outbound | Bit.OpenPending : Bit.OpenPending;
  }

  /** The session that carries this stream. */
  get session(): Session {
    return this.host.session;
  }

  /** Where the stream is in its lifecycle. */
  get state(): StreamState {
    return this._state;
  }

  /** Bytes received and not yet delivered to the listener (at most the receive window). */
  get bufferedBytes(): number {
    return this.buffered === undefined ? 0 : this.buffered.bytes;
  }

  /**
   * The receive window, bytes: `streamWindow`, grown by auto-tuning up to `maxStreamWindow` while the
   * consumer keeps up. The peer can never make this stream buffer more than this.
   */
  get receiveWindow(): number {
    return this.host.config.streamWindow + this.grown;
  }

  /** Attach the consumer (once; a second call throws INTERNAL_ERROR). Data received before is delivered right after (in a microtask). */
  listen(listener: StreamListener): void {
    if (this.listener !== undefined) {
      throw transportError('INTERNAL_ERROR', `stream ${this.id}: listen() called twice`);
    }
    this.listener = listener;
    if (this.hasBuffered() || this.has(Bit.RemoteFin | Bit.Finished)) this.scheduleDeliver();
  }

  /** Receive-side backpressure: while paused no onData and no window credit is returned, so the peer stops at the window. */
  pause(): void {
    this.bits |= Bit.Paused;
  }

  resume(): void {
    if (!this.has(Bit.Paused)) return;
    this.bits &= ~Bit.Paused;
    if (!this.has(Bit.Delivering)) this.deliver();
  }

  /** @internal The peer acknowledged our SYN. */
  _onAck(): void {
    if (this._state === StreamState.SynSent) this._state = StreamState.Established;
  }

  /** @internal Debit `n` bytes of an inbound Data frame; false when it exceeds the window (protocol error). */
  _debit(n: number): boolean {
    if (n > this.recvWindow) return false;
    this.recvWindow -= n;
    // The time the socket read carrying this frame began: the arrival time, without a clock call per stream.
    if (this.epochStart === 0) this.epochStart = this.host.now;
    return true;
  }

  /** @internal The peer already half-closed: any more data is a protocol error. */
  get _remoteClosed(): boolean {
    return this.has(Bit.RemoteFin);
  }

  /** @internal Payload bytes `chunk[start, end)` the session already debited. */
  _onData(chunk: Buffer, start: number, end: number): void {
    if (this.has(Bit.Finished)) return;
    if (
      this.listener !== undefined &&
      !this.has(Bit.Paused | Bit.Delivering | Bit.DeliverScheduled) &&
      !this.hasBuffered()
    ) {
      // Straight to the listener: the common case, nothing is queued.
      this.bits |= Bit.Delivering;
      this.callData(chunk, start, end);
      this.bits &= ~Bit.Delivering;
      if (this.has(Bit.Finished)) {
        this.notifyClose();
        return;
      }
      this.unacked += end - start;
      if (this.hasBuffered()) this.deliver();
      else this.credit();
      return;
    }
    if (this.buffered === undefined) this.buffered = new ChunkQueue();
    this.buffered.push(view(chunk, start, end));
    this.host.readBudget.add(end - start);
    if (!this.has(Bit.Delivering | Bit.DeliverScheduled)) this.deliver();
  }

  /** @internal The peer half-closed. */
  _onFin(): void {
    if (this.has(Bit.Finished | Bit.RemoteFin)) return;
    this.bits |= Bit.RemoteFin;
    if (this._state === StreamState.LocalClose) this._state = StreamState.Closed;
    else this._state = StreamState.RemoteClose;
    if (!this.has(Bit.Delivering | Bit.DeliverScheduled)) this.deliver();
  }

  /** @internal The peer reset the stream. */
  _onRst(): void {
    this.finish(transportError('STREAM_RESET', `stream ${this.id} was reset by the peer`));
  }

  /** @internal Send our pending SYN/ACK now, alone, if no frame has carried it yet. */
  _sendOpenFlags(): void {
    if (this.has(Bit.OpenPending) && !this.has(Bit.Finished)) this.windowUpdate(0, 0);
  }

  /** @internal True while our SYN/ACK has not gone out. */
  get _openPending(): boolean {
    return this.has(Bit.OpenPending);
  }

  /** @internal The session ended: close with its error, sending nothing. */
  _fail(err: TransportError): void {
    this.finish(err);
  }

  /** True when any of `bits` is set. */
  protected has(bits: number): boolean {
    return (this.bits & bits) !== 0;
  }

  private hasBuffered(): boolean {
    return this.buffered !== undefined && !this.buffered.isEmpty;
  }

  /** Window beyond yamux's fixed 256 KiB, announced along with our SYN/ACK (0 with the default config). */
  protected announcement(): number {
    return this.host.config.streamWindow - INITIAL_STREAM_WINDOW;
  }

  /**
   * Queue a WindowUpdate granting `credit` more bytes, with `flags`, plus our SYN/ACK and the window
   * announcement when they have not gone out yet.
   */
  protected windowUpdate(flags: number, credit: number): void {
    let delta = credit;
    if (this.has(Bit.OpenPending)) {
      flags |= this.takeOpenFlags();
      delta += this.announcement();
    }
    this.recvWindow += delta;
    this.host.outbox.frame(FrameType.WindowUpdate, flags, this.id, delta);
  }

  /** Our SYN or ACK, now marked sent. */
  protected takeOpenFlags(): number {
    this.bits &= ~Bit.OpenPending;
    if (this._state === StreamState.SynReceived) this._state = StreamState.Established;
    return this.has(Bit.Outbound) ? Flag.SYN : Flag.ACK;
  }

  /**
   * Return credit once the consumer has taken at least half the window (never while paused or after FIN),
   * plus any growth the tuner grants for how fast that half was consumed.
   */
  private credit(): void {
    if (this.has(Bit.Paused | Bit.RemoteFin | Bit.Finished)) return;
    const size = this.receiveWindow;
    if (this.unacked < size / 2) return;
    const now = performance.now();
    const more = this.host.tuner.grow(size, this.unacked, now - this.epochStart, now);
    this.epochStart = now;
    this.grown += more;
    const delta = this.unacked + more;
    this.unacked = 0;
    this.windowUpdate(0, delta);
  }

  private scheduleDeliver(): void {
    if (this.has(Bit.DeliverScheduled)) return;
    this.bits |= Bit.DeliverScheduled;
    queueMicrotask(() => {
      this.bits &= ~Bit.DeliverScheduled;
      if (!this.has(Bit.Delivering)) this.deliver();
    });
  }

  /** Deliver buffered data, then the end, then the close, as far as the listener's state allows. */
  private deliver(): void {
    const l = this.listener;
    if (l === undefined) return;
    if (this.has(Bit.Finished)) {
      this.notifyClose();
      return;
    }
    const queue = this.buffered;
    if (queue !== undefined) {
      this.bits |= Bit.Delivering;
      while (!this.has(Bit.Paused | Bit.Finished)) {
        const chunk = queue.shift();
        if (chunk === undefined) break;
        this.host.readBudget.remove(chunk.length);
        this.callData(chunk, 0, chunk.length);
        this.unacked += chunk.length;
      }
      this.bits &= ~Bit.Delivering;
      if (this.has(Bit.Finished)) {
        this.notifyClose();
        return;
      }
    }
    if (
      (this.bits & (Bit.Paused | Bit.RemoteFin | Bit.EndDelivered)) === Bit.RemoteFin &&
      !this.hasBuffered()
    ) {
      this.bits |= Bit.EndDelivered;
      try {
        l.onEnd();
      } catch (err) {
        this.failListener(err);
        return;
      }
      this.maybeClose();
      return;
    }
    this.credit();
  }

  /** Hands `chunk[start, end)` to the listener: as offsets if it takes them, else as a view. */
  private callData(chunk: Uint8Array, start: number, end: number): void {
    const l = this.listener!;
    try {
      if (l.onDataAt !== undefined) l.onDataAt(chunk, start, end);
      else l.onData(view(chunk, start, end));
    } catch (err) {
      this.failListener(err);
    }
  }

  /** A listener callback threw: the stream cannot go on consistently, so reset it and tell onClose why. */
  protected failListener(cause: unknown): void {
    if (this.has(Bit.Finished)) return;
    this.host.outbox.frame(FrameType.WindowUpdate, Flag.RST, this.id, 0);
    this.finish(transportError('INTERNAL_ERROR', `stream ${this.id}: the listener threw`, { cause }));
  }

  protected maybeClose(): void {
    if ((this.bits & (Bit.FinSent | Bit.EndDelivered | Bit.Finished)) === (Bit.FinSent | Bit.EndDelivered)) {
      this.finish(undefined);
    }
  }

  protected notifyClose(): void {
    const l = this.listener;
    if (l === undefined || this.has(Bit.CloseNotified)) return;
    this.bits |= Bit.CloseNotified;
    try {
      l.onClose(this.closeError);
    } catch (err) {
      reportUnhandled(err);
    }
  }

  /** The one way out: drop queues, leave the table, reject waiters, tell the listener once. */
  protected abstract finish(err: TransportError | undefined): void;
}

/** `chunk[start, end)` as a Uint8Array of its own: the chunk itself when that is all of it. */
function view(chunk: Uint8Array, start: number, end: number): Uint8Array {
  return start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
}
