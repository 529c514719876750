/**
 * Pings of one session: RTT measurement (`ping()`) and keepalive. Each ping carries a fresh opaque value
 * that the peer echoes in its Ping ACK; answers nobody asked for are ignored.
 */
import { type TransportError, transportError } from '../errors.js';
import { MAX_UINT32 } from './frame.js';

interface PendingPing {
  start: number;
  resolve: (rttMs: number) => void;
  reject: (err: TransportError) => void;
}

export class Pinger {
  private readonly pending = new Map<number, PendingPing>();
  private nextId = 1;
  private interval: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;

  /**
   * @param send queues a Ping SYN with the opaque value.
   * @param onTimeout called once when a keepalive ping goes unanswered.
   */
  constructor(
    private readonly send: (opaque: number) => void,
    private readonly onTimeout: (err: TransportError) => void,
  ) {}

  /** Ping every `intervalMs`; no answer within `timeoutMs` calls onTimeout(KEEPALIVE_TIMEOUT). */
  startKeepAlive(intervalMs: number, timeoutMs: number): void {
    this.interval = setInterval(() => {
      if (this.deadline !== undefined) return; // the previous keepalive ping is still out
      this.deadline = setTimeout(() => {
        this.stop();
        this.onTimeout(transportError('KEEPALIVE_TIMEOUT', `mux: no ping answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.ping({
        start: performance.now(),
        resolve: () => {
          clearTimeout(this.deadline);
          this.deadline = undefined;
        },
        reject: () => {},
      });
    }, intervalMs);
  }

  /** Round-trip time in ms of one ping; rejects through fail(). */
  measure(): Promise<number> {
    return new Promise((resolve, reject) => this.ping({ start: performance.now(), resolve, reject }));
  }

  /** A Ping ACK arrived with `opaque`. */
  answered(opaque: number): void {
    const p = this.pending.get(opaque);
    if (p === undefined) return;
    this.pending.delete(opaque);
    p.resolve(performance.now() - p.start);
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
