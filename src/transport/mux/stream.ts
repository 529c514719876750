/**
 * One yamux stream: an ordered, flow-controlled byte stream in each direction (hashicorp `stream.go`).
 *
 * Send side: write() queues bytes; they are framed as the peer's window (`sendWindow`) allows, in Data
 * frames of at most `maxSendFrame`. write() returns false while more than `writeHighWaterMark` bytes
 * wait for window; drained() / onDrain tell when to go on.
 *
 * Receive side: the peer may send at most `recvWindow` more bytes. Data goes straight to the listener
 * when it is attached and not paused, else it is buffered (never more than the window, since the peer is
 * stopped there). Credit is returned in one WindowUpdate once the consumer has taken at least half the
 * window, never while paused. The window starts at `streamWindow` and may grow when the consumer keeps
 * up ({@link WindowTuner}): the growth rides on a credit as extra delta.
 *
 * Every way a stream ends (both FINs, RST either way, session end) goes through one place, which removes
 * it from the session's table and calls `onClose` exactly once.
 *
 * Size: most streams are short (a call's reply) or idle (a subscription), so a stream is one object of
 * plain fields: its yes/no facts share one number ({@link Bit}), the send and receive queues are made
 * only when bytes must wait, and what follows from the config (window size, announcement) is computed,
 * not stored.
 */
import { type TransportError, transportError } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { Flag, FrameType, INITIAL_STREAM_WINDOW, MAX_UINT32 } from './frame.js';
import type { StreamHost, StreamListener } from './listener.js';
import { reportUnhandled } from './report.js';
import type { Session } from './session.js';
import { Bit, StreamState } from './stream-state.js';

export { StreamState } from './stream-state.js';

interface Waiter {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: TransportError) => void;
}

export class Stream {
  private _state: StreamState;
  /** Yes/no facts, one {@link Bit} each. */
  private bits: number;
  /** Bytes the peer lets us send before its next credit. */
  private sendWindow = INITIAL_STREAM_WINDOW;
  /** Bytes the peer may still send before our next credit. */
  private recvWindow = INITIAL_STREAM_WINDOW;
  /** Bytes the consumer took that are not yet credited back. */
  private unacked = 0;
  /** Growth granted by the session's tuner (the window is streamWindow + grown), given back at the end. */
  private grown = 0;
  /** When the previous credit went out (or the first inbound Data arrived), ms; 0 before any data. */
  private epochStart = 0;
  /** Written bytes waiting for send window; made on the first write that has to wait. */
  private unsent: ChunkQueue | undefined = undefined;
  /** Received bytes waiting for the listener; made on the first chunk that has to wait. */
  private buffered: ChunkQueue | undefined = undefined;
  private listener: StreamListener | undefined = undefined;
  private drainWaiter: Waiter | undefined = undefined;
  private closeError: TransportError | undefined = undefined;

  /** @internal Created by the Session only. */
  constructor(
    private readonly host: StreamHost,
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

  /** Bytes written and not yet framed (waiting for send window). */
  get queuedBytes(): number {
    return this.unsent === undefined ? 0 : this.unsent.bytes;
  }

  /**
   * Queue bytes (not copied: do not mutate after). Throws STREAM_CLOSED after end(), or the close error
   * after reset / session end. Returns false when queued-unsent bytes exceed writeHighWaterMark: wait for
   * drained() / onDrain before writing more.
   */
  write(data: Uint8Array): boolean {
    if (this.has(Bit.Finished)) throw this.closeError ?? closedError(this.id);
    if (this.has(Bit.WriteClosed)) {
      throw transportError('STREAM_CLOSED', `stream ${this.id}: write after end()`);
    }
    const n = data.length;
    const config = this.host.config;
    if (n === 0) return this.queuedBytes < config.writeHighWaterMark;
    if (!this.hasUnsent() && n <= this.sendWindow && n <= config.maxSendFrame) {
      // Fast path: nothing waiting and the window allows it all.
      this.sendWindow -= n;
      this.sendData(data);
      return true;
    }
    if (this.unsent === undefined) this.unsent = new ChunkQueue();
    this.unsent.push(data);
    this.pump();
    if (this.queuedBytes < config.writeHighWaterMark) return true;
    this.bits |= Bit.NeedDrain;
    return false;
  }

  /** Resolves when queued-unsent bytes are below writeHighWaterMark (at once if already); rejects with the close error. */
  drained(): Promise<void> {
    if (this.has(Bit.Finished)) return Promise.reject(this.closeError ?? closedError(this.id));
    if (this.queuedBytes < this.host.config.writeHighWaterMark) return Promise.resolve();
    this.bits |= Bit.NeedDrain;
    if (this.drainWaiter === undefined) {
      let resolve!: () => void;
      let reject!: (err: TransportError) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.drainWaiter = { promise, resolve, reject };
    }
    return this.drainWaiter.promise;
  }

  /** Half-close (FIN) after the queued data. Idempotent; a no-op once the stream has closed. */
  end(): void {
    if (this.has(Bit.WriteClosed | Bit.Finished)) return;
    this.bits |= Bit.WriteClosed;
    if (this._state === StreamState.RemoteClose) this._state = StreamState.Closed;
    else this._state = StreamState.LocalClose;
    if (!this.hasUnsent()) this.sendFin();
  }

  /** RST now; queued data is dropped; listener.onClose(STREAM_RESET) locally too. Idempotent. */
  reset(): void {
    if (this.has(Bit.Finished)) return;
    this.host.outbox.frame(FrameType.WindowUpdate, Flag.RST, this.id, 0);
    this.finish(transportError('STREAM_RESET', `stream ${this.id} was reset locally`));
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

  // ------------------------------------------------------------------ session side (internal)

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

  /** @internal A payload the session already debited. */
  _onData(payload: Buffer): void {
    if (this.has(Bit.Finished)) return;
    if (
      this.listener !== undefined &&
      !this.has(Bit.Paused | Bit.Delivering | Bit.DeliverScheduled) &&
      !this.hasBuffered()
    ) {
      // Straight to the listener: the common case, nothing is queued.
      this.bits |= Bit.Delivering;
      this.callData(payload);
      this.bits &= ~Bit.Delivering;
      if (this.has(Bit.Finished)) {
        this.notifyClose();
        return;
      }
      this.unacked += payload.length;
      if (this.hasBuffered()) this.deliver();
      else this.credit();
      return;
    }
    if (this.buffered === undefined) this.buffered = new ChunkQueue();
    this.buffered.push(payload);
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

  /** @internal The peer granted `delta` more bytes; false when the window would pass 2^32-1 (protocol error). */
  _onWindowUpdate(delta: number): boolean {
    if (delta === 0 || this.has(Bit.Finished)) return true;
    if (this.sendWindow + delta > MAX_UINT32) return false;
    this.sendWindow += delta;
    this.pump();
    return true;
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

  // ------------------------------------------------------------------ private

  /** True when any of `bits` is set. */
  private has(bits: number): boolean {
    return (this.bits & bits) !== 0;
  }

  private hasUnsent(): boolean {
    return this.unsent !== undefined && !this.unsent.isEmpty;
  }

  private hasBuffered(): boolean {
    return this.buffered !== undefined && !this.buffered.isEmpty;
  }

  /** Window beyond yamux's fixed 256 KiB, announced along with our SYN/ACK (0 with the default config). */
  private announcement(): number {
    return this.host.config.streamWindow - INITIAL_STREAM_WINDOW;
  }

  /**
   * Queue a WindowUpdate granting `credit` more bytes, with `flags`, plus our SYN/ACK and the window
   * announcement when they have not gone out yet.
   */
  private windowUpdate(flags: number, credit: number): void {
    let delta = credit;
    if (this.has(Bit.OpenPending)) {
      flags |= this.takeOpenFlags();
      delta += this.announcement();
    }
    this.recvWindow += delta;
    this.host.outbox.frame(FrameType.WindowUpdate, flags, this.id, delta);
  }

  /** Our SYN or ACK, now marked sent. */
  private takeOpenFlags(): number {
    this.bits &= ~Bit.OpenPending;
    if (this._state === StreamState.SynReceived) this._state = StreamState.Established;
    return this.has(Bit.Outbound) ? Flag.SYN : Flag.ACK;
  }

  /** Queue one Data frame (window already debited), with SYN/ACK and the window announcement if due. */
  private sendData(part: Uint8Array): void {
    const outbox = this.host.outbox;
    if (!this.has(Bit.OpenPending)) {
      outbox.data(0, this.id, part);
      return;
    }
    outbox.data(this.takeOpenFlags(), this.id, part);
    const announce = this.announcement();
    if (announce > 0) {
      outbox.frame(FrameType.WindowUpdate, 0, this.id, announce);
      this.recvWindow += announce;
    }
  }

  /** Frame queued bytes as the window allows; FIN when due; drain notification. */
  private pump(): void {
    const config = this.host.config;
    const queue = this.unsent;
    if (queue !== undefined) {
      while (this.sendWindow > 0 && !this.has(Bit.Finished)) {
        const part = queue.take(Math.min(this.sendWindow, config.maxSendFrame));
        if (part === undefined) break;
        this.sendWindow -= part.length;
        this.sendData(part);
      }
    }
    if (
      !this.hasUnsent() &&
      (this.bits & (Bit.WriteClosed | Bit.FinSent | Bit.Finished)) === Bit.WriteClosed
    ) {
      this.sendFin();
    }
    if (this.has(Bit.NeedDrain) && !this.has(Bit.Finished) && this.queuedBytes < config.writeHighWaterMark) {
      this.bits &= ~Bit.NeedDrain;
      const w = this.drainWaiter;
      this.drainWaiter = undefined;
      w?.resolve();
      const l = this.listener;
      if (l?.onDrain !== undefined) {
        try {
          l.onDrain();
        } catch (err) {
          reportUnhandled(err);
        }
      }
    }
  }

  private sendFin(): void {
    this.bits |= Bit.FinSent;
    // FIN always goes in a frame of its own: libp2p-yamux applies a Data frame's flags before its payload
    // and would drop the payload of a Data+FIN frame.
    this.windowUpdate(Flag.FIN, 0);
    this.maybeClose();
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
        this.callData(chunk);
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

  private callData(chunk: Uint8Array): void {
    try {
      this.listener!.onData(chunk);
    } catch (err) {
      this.failListener(err);
    }
  }

  /** A listener callback threw: the stream cannot go on consistently, so reset it and tell onClose why. */
  private failListener(cause: unknown): void {
    if (this.has(Bit.Finished)) return;
    this.host.outbox.frame(FrameType.WindowUpdate, Flag.RST, this.id, 0);
    this.finish(transportError('INTERNAL_ERROR', `stream ${this.id}: the listener threw`, { cause }));
  }

  private maybeClose(): void {
    if ((this.bits & (Bit.FinSent | Bit.EndDelivered | Bit.Finished)) === (Bit.FinSent | Bit.EndDelivered)) {
      this.finish(undefined);
    }
  }

  /** The one way out: drop queues, leave the table, reject waiters, tell the listener once. */
  private finish(err: TransportError | undefined): void {
    if (this.has(Bit.Finished)) return;
    this.bits |= Bit.Finished;
    this.closeError = err;
    this._state = err === undefined ? StreamState.Closed : StreamState.Reset;
    this.unsent = undefined;
    this.buffered = undefined;
    // The growth stays counted in `grown` (receiveWindow does not change), but goes back to the budget.
    if (this.grown > 0) this.host.tuner.release(this.grown);
    this.host.remove(this);
    const w = this.drainWaiter;
    this.drainWaiter = undefined;
    w?.reject(err ?? closedError(this.id));
    if (!this.has(Bit.Delivering)) this.notifyClose();
  }

  private notifyClose(): void {
    const l = this.listener;
    if (l === undefined || this.has(Bit.CloseNotified)) return;
    this.bits |= Bit.CloseNotified;
    try {
      l.onClose(this.closeError);
    } catch (err) {
      reportUnhandled(err);
    }
  }
}

function closedError(id: number): TransportError {
  return transportError('STREAM_CLOSED', `stream ${id} is closed`);
}
