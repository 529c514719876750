/**
 * Pings of one session: RTT measurement (`ping()`), keepalive, and probes for the window tuner. Each ping
 * carries a fresh opaque value that the peer echoes in its Ping ACK; answers nobody asked for are ignored.
 * Every answer is also reported as a round-trip sample.
 */
import { type TransportError, transportError } from '../errors.js';
import { MAX_UINT32 } from './frame.js';

interface PendingPing {
  start: number;
  resolve: (rttMs: number) => void;
  reject: (err: TransportError) => void;
}

const ignore = (): void => {};

export class Pinger {
  private readonly pending = new Map<number, PendingPing>();
  private nextId = 1;
  private interval: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private probing = false;
  /** A keepalive ping is out, unanswered. */
  private keepAliveOut = false;
  private held = false;
  private timeoutMs = 0;
  private readonly probeDone = (): void => {
    this.probing = false;
  };

  /**
   * @param send queues a Ping SYN with the opaque value.
   * @param onTimeout called once when a keepalive ping goes unanswered.
   * @param onSample called with every answered ping's round-trip time, ms, and the time it was taken.
   */
  constructor(
    private readonly send: (opaque: number) => void,
    private readonly onTimeout: (err: TransportError) => void,
    private readonly onSample: (rttMs: number, now: number) => void = ignore,
  ) {}

  /** Ping every `intervalMs`; no answer within `timeoutMs` calls onTimeout(KEEPALIVE_TIMEOUT). */
  startKeepAlive(intervalMs: number, timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
    this.interval = setInterval(() => {
      // The previous keepalive ping is still out, or answers cannot be read now.
      if (this.keepAliveOut || this.held) return;
      this.keepAliveOut = true;
      this.armDeadline();
      this.ping({
        start: performance.now(),
        resolve: () => {
          this.keepAliveOut = false;
          clearTimeout(this.deadline);
          this.deadline = undefined;
        },
        reject: () => {},
      });
    }, intervalMs);
  }

  /**
   * While held (the session has stopped reading its socket, so no answer can arrive), no keepalive ping
   * goes out and an unanswered one does not time out; on release its deadline starts over.
   */
  hold(on: boolean): void {
    if (this.held === on) return;
    this.held = on;
    clearTimeout(this.deadline);
    this.deadline = undefined;
    if (!on && this.keepAliveOut && this.interval !== undefined) this.armDeadline();
  }

  private armDeadline(): void {
    const timeoutMs = this.timeoutMs;
    this.deadline = setTimeout(() => {
      this.stop();
      this.onTimeout(transportError('KEEPALIVE_TIMEOUT', `mux: no ping answer within ${timeoutMs} ms`));
    }, timeoutMs);
  }

  /** Round-trip time in ms of one ping; rejects through fail(). */
  measure(): Promise<number> {
    return new Promise((resolve, reject) => this.ping({ start: performance.now(), resolve, reject }));
  }

  /**
   * Send one ping only to get a round-trip sample (no promise), unless a probe is already out. A peer that
   * never answers leaves one probe pending until the session ends.
   */
  probe(): void {
    if (this.probing) return;
    this.probing = true;
    this.ping({ start: performance.now(), resolve: this.probeDone, reject: ignore });
  }

  /** A Ping ACK arrived with `opaque`. */
  answered(opaque: number): void {
    const p = this.pending.get(opaque);
    if (p === undefined) return;
    this.pending.delete(opaque);
    const now = performance.now();
    const rtt = now - p.start;
    this.onSample(rtt, now);
    p.resolve(rtt);
  }

  /** The session ended: stop the timers, reject every pending ping. */
  fail(err: TransportError): void {
    this.stop();
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private stop(): void {
    clearInterval(this.interval);
    clearTimeout(this.deadline);
    this.interval = undefined;
    this.deadline = undefined;
  }

  private ping(p: PendingPing): void {
    const id = this.nextId;
    this.nextId = id === MAX_UINT32 ? 1 : id + 1;
    this.pending.set(id, p);
    this.send(id);
  }
}
