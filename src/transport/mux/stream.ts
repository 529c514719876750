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
 */
import { type TransportError, transportError } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { Flag, FrameType, INITIAL_STREAM_WINDOW, MAX_UINT32 } from './frame.js';
import type { StreamHost, StreamListener } from './listener.js';
import { reportUnhandled } from './report.js';
import type { Session } from './session.js';

/** Lifecycle of a stream (hashicorp's streamState). */
export const StreamState = {
  /** We opened it (SYN queued); the peer has not acknowledged yet. Data may already flow. */
  SynSent: 0,
  /** The peer opened it; our ACK is not sent yet. */
  SynReceived: 1,
  /** Open both ways. */
  Established: 2,
  /** We half-closed (end()); the peer may still send. */
  LocalClose: 3,
  /** The peer half-closed (FIN); we may still send. */
  RemoteClose: 4,
  /** Both sides sent FIN. The stream leaves the table (onClose) once the listener has taken the end. */
  Closed: 5,
  /** Reset by either side, or the session ended; the stream has left the table. */
  Reset: 6,
} as const;
export type StreamState = (typeof StreamState)[keyof typeof StreamState];

interface Waiter {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: TransportError) => void;
}

export class Stream {
  private _state: StreamState;
  /** SYN (outbound, not yet sent) or ACK (inbound, not yet sent): put on the next frame we send. */
  private openFlags: number;
  /** Window beyond yamux's fixed 256 KiB still to announce to the peer (streamWindow - 256 KiB). */
  private announce: number;

  // --- send side ---
  private sendWindow = INITIAL_STREAM_WINDOW;
  private readonly unsent = new ChunkQueue();
  private writeClosed = false;
  private finSent = false;
  private needDrain = false;
  private drainWaiter: Waiter | undefined;

  // --- receive side ---
  /** Bytes the peer may still send before our next credit. */
  private recvWindow = INITIAL_STREAM_WINDOW;
  /** The receive window: recvWindow + buffered + unacked (+ announce not yet sent). Grows by tuning. */
  private recvSize: number;
  /** Growth granted by the session's tuner, given back when the stream ends. */
  private grown = 0;
  /** performance.now() at the previous credit (or the first inbound Data); 0 before any data. */
  private epochStart = 0;
  /** Bytes the consumer took that are not yet credited back. */
  private unacked = 0;
  private readonly buffered = new ChunkQueue();
  private remoteFin = false;
  private endDelivered = false;
  private listener: StreamListener | undefined;
  private paused = false;
  private delivering = false;
  private deliverScheduled = false;

  // --- end ---
  private finished = false;
  private closeError: TransportError | undefined;
  private closeNotified = false;

  /** @internal Created by the Session only. */
  constructor(
    readonly session: Session,
    private readonly host: StreamHost,
    readonly id: number,
    outbound: boolean,
  ) {
    this._state = outbound ? StreamState.SynSent : StreamState.SynReceived;
    this.openFlags = outbound ? Flag.SYN : Flag.ACK;
    this.recvSize = host.config.streamWindow;
    this.announce = this.recvSize - INITIAL_STREAM_WINDOW;
  }

  /** Where the stream is in its lifecycle. */
  get state(): StreamState {
    return this._state;
  }

  /** Bytes received and not yet delivered to the listener (at most the receive window). */
  get bufferedBytes(): number {
    return this.buffered.bytes;
  }

  /**
   * The receive window, bytes: `streamWindow`, grown by auto-tuning up to `maxStreamWindow` while the
   * consumer keeps up. The peer can never make this stream buffer more than this.
   */
  get receiveWindow(): number {
    return this.recvSize;
  }

  /** Bytes written and not yet framed (waiting for send window). */
  get queuedBytes(): number {
    return this.unsent.bytes;
  }

  /**
   * Queue bytes (not copied: do not mutate after). Throws STREAM_CLOSED after end(), or the close error
   * after reset / session end. Returns false when queued-unsent bytes exceed writeHighWaterMark: wait for
   * drained() / onDrain before writing more.
   */
  write(data: Uint8Array): boolean {
    if (this.finished)
      throw this.closeError ?? transportError('STREAM_CLOSED', `stream ${this.id} is closed`);
    if (this.writeClosed) throw transportError('STREAM_CLOSED', `stream ${this.id}: write after end()`);
    const n = data.length;
    const hwm = this.host.config.writeHighWaterMark;
    if (n === 0) return this.unsent.bytes < hwm;
    if (this.unsent.isEmpty && n <= this.sendWindow && n <= this.host.config.maxSendFrame) {
      // Fast path: nothing waiting and the window allows it all.
      this.sendWindow -= n;
      this.sendData(data);
      return true;
    }
    this.unsent.push(data);
    this.pump();
    if (this.unsent.bytes < hwm) return true;
    this.needDrain = true;
    return false;
  }

  /** Resolves when queued-unsent bytes are below writeHighWaterMark (at once if already); rejects with the close error. */
  drained(): Promise<void> {
    if (this.finished) {
      return Promise.reject(
        this.closeError ?? transportError('STREAM_CLOSED', `stream ${this.id} is closed`),
      );
    }
    if (this.unsent.bytes < this.host.config.writeHighWaterMark) return Promise.resolve();
    this.needDrain = true;
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
    if (this.writeClosed || this.finished) return;
    this.writeClosed = true;
    if (this._state === StreamState.RemoteClose) this._state = StreamState.Closed;
    else this._state = StreamState.LocalClose;
    if (this.unsent.isEmpty) this.sendFin();
  }

  /** RST now; queued data is dropped; listener.onClose(STREAM_RESET) locally too. Idempotent. */
  reset(): void {
    if (this.finished) return;
    this.host.frame(FrameType.WindowUpdate, Flag.RST, this.id, 0);
    this.finish(transportError('STREAM_RESET', `stream ${this.id} was reset locally`));
  }

  /** Attach the consumer (once; a second call throws INTERNAL_ERROR). Data received before is delivered right after (in a microtask). */
  listen(listener: StreamListener): void {
    if (this.listener !== undefined) {
      throw transportError('INTERNAL_ERROR', `stream ${this.id}: listen() called twice`);
    }
    this.listener = listener;
    if (!this.buffered.isEmpty || this.remoteFin || this.finished) this.scheduleDeliver();
  }

  /** Receive-side backpressure: while paused no onData and no window credit is returned, so the peer stops at the window. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.delivering) this.deliver();
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
    if (this.epochStart === 0) this.epochStart = performance.now();
    return true;
  }

  /** @internal The peer already half-closed: any more data is a protocol error. */
  get _remoteClosed(): boolean {
    return this.remoteFin;
  }

  /** @internal A payload the session already debited. */
  _onData(payload: Buffer): void {
    if (this.finished) return;
    if (this.listener !== undefined && !this.paused && !this.delivering && !this.deliverScheduled) {
      if (this.buffered.isEmpty) {
        this.delivering = true;
        this.callData(payload);
        this.delivering = false;
        if (this.finished) {
          this.notifyClose();
          return;
        }
        this.unacked += payload.length;
        if (this.buffered.isEmpty) this.credit();
        else this.deliver();
        return;
      }
    }
    this.buffered.push(payload);
    if (!this.delivering && !this.deliverScheduled) this.deliver();
  }

  /** @internal The peer half-closed. */
  _onFin(): void {
    if (this.finished || this.remoteFin) return;
    this.remoteFin = true;
    if (this._state === StreamState.LocalClose) this._state = StreamState.Closed;
    else this._state = StreamState.RemoteClose;
    if (!this.delivering && !this.deliverScheduled) this.deliver();
  }

  /** @internal The peer reset the stream. */
  _onRst(): void {
    this.finish(transportError('STREAM_RESET', `stream ${this.id} was reset by the peer`));
  }

  /** @internal The peer granted `delta` more bytes; false when the window would pass 2^32-1 (protocol error). */
  _onWindowUpdate(delta: number): boolean {
    if (delta === 0 || this.finished) return true;
    if (this.sendWindow + delta > MAX_UINT32) return false;
    this.sendWindow += delta;
    this.pump();
    return true;
  }

  /** @internal Send our pending SYN/ACK now, alone, if no frame has carried it yet. */
  _sendOpenFlags(): void {
    if (this.openFlags === 0 || this.finished) return;
    this.windowUpdate(0, 0);
  }

  /** @internal True while our SYN/ACK has not gone out. */
  get _openPending(): boolean {
    return this.openFlags !== 0;
  }

  /** @internal The session ended: close with its error, sending nothing. */
  _fail(err: TransportError): void {
    this.finish(err);
  }

  // ------------------------------------------------------------------ private

  /**
   * Queue a WindowUpdate granting `credit` more bytes, with `flags`, plus our SYN/ACK and the window
   * announcement when they have not gone out yet.
   */
  private windowUpdate(flags: number, credit: number): void {
    let delta = credit;
    if (this.openFlags !== 0) {
      flags |= this.takeOpenFlags();
      delta += this.announce;
      this.announce = 0;
    }
    this.recvWindow += delta;
    this.host.frame(FrameType.WindowUpdate, flags, this.id, delta);
  }

  private takeOpenFlags(): number {
    const f = this.openFlags;
    this.openFlags = 0;
    if (this._state === StreamState.SynReceived) this._state = StreamState.Established;
    return f;
  }

  /** Queue one Data frame (window already debited), with SYN/ACK and the window announcement if due. */
  private sendData(part: Uint8Array): void {
    if (this.openFlags === 0) {
      this.host.data(0, this.id, part);
      return;
    }
    this.host.data(this.takeOpenFlags(), this.id, part);
    if (this.announce > 0) {
      this.host.frame(FrameType.WindowUpdate, 0, this.id, this.announce);
      this.recvWindow += this.announce;
      this.announce = 0;
    }
  }

  /** Frame queued bytes as the window allows; FIN when due; drain notification. */
  private pump(): void {
    const max = this.host.config.maxSendFrame;
    while (this.sendWindow > 0 && !this.finished) {
      const part = this.unsent.take(Math.min(this.sendWindow, max));
      if (part === undefined) break;
      this.sendWindow -= part.length;
      this.sendData(part);
    }
    if (this.unsent.isEmpty && this.writeClosed && !this.finSent && !this.finished) this.sendFin();
    if (this.needDrain && this.unsent.bytes < this.host.config.writeHighWaterMark && !this.finished) {
      this.needDrain = false;
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
    this.finSent = true;
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
    if (this.paused || this.remoteFin || this.finished) return;
    const size = this.recvSize;
    if (this.unacked < size / 2) return;
    const now = performance.now();
    const more = this.host.tuner.grow(size, this.unacked, now - this.epochStart, now);
    this.epochStart = now;
    if (more > 0) {
      this.recvSize = size + more;
      this.grown += more;
    }
    const delta = this.unacked + more;
    this.unacked = 0;
    this.windowUpdate(0, delta);
  }

  private scheduleDeliver(): void {
    if (this.deliverScheduled) return;
    this.deliverScheduled = true;
    queueMicrotask(() => {
      this.deliverScheduled = false;
      if (!this.delivering) this.deliver();
    });
  }

  /** Deliver buffered data, then the end, then the close, as far as the listener's state allows. */
  private deliver(): void {
    const l = this.listener;
    if (l === undefined) return;
    if (this.finished) {
      this.notifyClose();
      return;
    }
    this.delivering = true;
    while (!this.paused && !this.finished) {
      const chunk = this.buffered.shift();
      if (chunk === undefined) break;
      this.callData(chunk);
      this.unacked += chunk.length;
    }
    this.delivering = false;
    if (this.finished) {
      this.notifyClose();
      return;
    }
    if (!this.paused && this.buffered.isEmpty && this.remoteFin && !this.endDelivered) {
      this.endDelivered = true;
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
    if (this.finished) return;
    this.host.frame(FrameType.WindowUpdate, Flag.RST, this.id, 0);
    this.finish(transportError('INTERNAL_ERROR', `stream ${this.id}: the listener threw`, { cause }));
  }

  private maybeClose(): void {
    if (this.finSent && this.endDelivered && !this.finished) this.finish(undefined);
  }

  /** The one way out: drop queues, leave the table, reject waiters, tell the listener once. */
  private finish(err: TransportError | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.closeError = err;
    this._state = err === undefined ? StreamState.Closed : StreamState.Reset;
    this.unsent.clear();
    this.buffered.clear();
    if (this.grown > 0) {
      this.host.tuner.release(this.grown);
      this.grown = 0;
    }
    this.host.remove(this);
    const w = this.drainWaiter;
    this.drainWaiter = undefined;
    w?.reject(err ?? transportError('STREAM_CLOSED', `stream ${this.id} is closed`));
    if (!this.delivering) this.notifyClose();
  }

  private notifyClose(): void {
    const l = this.listener;
    if (l === undefined || this.closeNotified) return;
    this.closeNotified = true;
    try {
      l.onClose(this.closeError);
    } catch (err) {
      reportUnhandled(err);
    }
  }
}
