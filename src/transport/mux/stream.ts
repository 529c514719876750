/**
 * One yamux stream: an ordered, flow-controlled byte stream in each direction (hashicorp `stream.go`).
 * This file is the send side and the end of a stream; identity, lifecycle and the receive side are in
 * {@link StreamCore}.
 *
 * Send side: write() queues bytes; they are framed as the peer's window (`sendWindow`) allows, in Data
 * frames of at most `maxSendFrame`. write() returns false while more than `writeHighWaterMark` bytes
 * wait for window; drained() / onDrain tell when to go on.
 *
 * Every way a stream ends (both FINs, RST either way, session end) goes through one place, finish(),
 * which removes it from the session's table and calls `onClose` exactly once.
 */
import { type TransportError, transportError } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { Flag, FrameType, INITIAL_STREAM_WINDOW, MAX_UINT32 } from './frame.js';
import type { StreamHost } from './listener.js';
import { reportUnhandled } from './report.js';
import { StreamCore } from './stream-core.js';
import { Bit, StreamState } from './stream-state.js';

export { StreamState } from './stream-state.js';

interface Waiter {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: TransportError) => void;
}

export class Stream extends StreamCore {
  /** Bytes the peer lets us send before its next credit. */
  private sendWindow = INITIAL_STREAM_WINDOW;
  /** Written bytes waiting for send window; made on the first write that has to wait. */
  private unsent: ChunkQueue | undefined = undefined;
  private drainWaiter: Waiter | undefined = undefined;

  /** @internal Created by the Session only. */
  constructor(host: StreamHost, id: number, outbound: boolean) {
    super(host, id, outbound);
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
    this.host.unsentBytes += n;
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

  /** @internal The peer granted `delta` more bytes; false when the window would pass 2^32-1 (protocol error). */
  _onWindowUpdate(delta: number): boolean {
    if (delta === 0 || this.has(Bit.Finished)) return true;
    if (this.sendWindow + delta > MAX_UINT32) return false;
    this.sendWindow += delta;
    this.pump();
    return true;
  }

  private hasUnsent(): boolean {
    return this.unsent !== undefined && !this.unsent.isEmpty;
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
        this.host.unsentBytes -= part.length;
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

  /**
   * FIN rides on the stream's last frame when that is still in the outbox's batch (a stream opened,
   * written and ended in one tick is one frame), else it goes in a WindowUpdate of its own, as it always
   * does with `separateFin` (for peers that apply a Data frame's flags before its payload).
   */
  private sendFin(): void {
    this.bits |= Bit.FinSent;
    if (this.host.config.separateFin || this.has(Bit.OpenPending) || !this.host.outbox.finOnLast(this.id)) {
      this.windowUpdate(Flag.FIN, 0);
    }
    this.maybeClose();
  }

  /** The one way out: drop queues, leave the table, reject waiters, tell the listener once. */
  protected finish(err: TransportError | undefined): void {
    if (this.has(Bit.Finished)) return;
    this.bits |= Bit.Finished;
    this.closeError = err;
    this._state = err === undefined ? StreamState.Closed : StreamState.Reset;
    const host = this.host;
    if (this.buffered !== undefined && this.buffered.bytes > 0) host.readBudget.remove(this.buffered.bytes);
    this.buffered = undefined;
    if (this.unsent !== undefined && this.unsent.bytes > 0) {
      host.unsentBytes -= this.unsent.bytes;
      host.queueFell();
    }
    this.unsent = undefined;
    // The growth stays counted in `grown` (receiveWindow does not change), but goes back to the budget.
    if (this.grown > 0) this.host.tuner.release(this.grown);
    this.host.remove(this);
    const w = this.drainWaiter;
    this.drainWaiter = undefined;
    w?.reject(err ?? closedError(this.id));
    if (!this.has(Bit.Delivering)) this.notifyClose();
  }
}

function closedError(id: number): TransportError {
  return transportError('STREAM_CLOSED', `stream ${id} is closed`);
}
