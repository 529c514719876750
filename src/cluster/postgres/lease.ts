/**
 * This node's lease as the node itself can judge it, without reading the database's clock: `valid`
 * after each successful renewal, `fenced` once (monotonic send time of the last successful renewal) +
 * leaseMs - fenceMarginMs has passed with no newer success. The database sets the lease's expiry to
 * its `now()` + leaseMs when it runs the renewal, which is after the node sent it; so the node fences
 * itself at least fenceMarginMs before any other node may take its claims (placement.ts).
 *
 * The fence is a timer, not a check on the next beat: a renewal that hangs cannot delay it.
 */
import { BehaviorSubject, type Observable } from 'rxjs';
import type { LeaseState } from '../placement.js';

export class LeaseClock {
  readonly #validMs: number;
  readonly #subject = new BehaviorSubject<LeaseState>('fenced');
  /** Monotonic (performance.now) time at which the lease stops being valid. */
  #until = 0;
  #timer: NodeJS.Timeout | undefined;
  #ended = false;

  /** `validMs`: leaseMs - fenceMarginMs. */
  constructor(validMs: number) {
    this.#validMs = validMs;
  }

  get lease$(): Observable<LeaseState> {
    return this.#subject.asObservable();
  }

  /** Valid now, by the monotonic clock (not only by the last emitted state). */
  isValid(): boolean {
    return !this.#ended && this.#subject.value === 'valid' && performance.now() < this.#until;
  }

  /** A renewal sent at `sentAt` (performance.now) succeeded. */
  renewed(sentAt: number): void {
    if (this.#ended) return;
    const until = sentAt + this.#validMs;
    if (until <= this.#until) return;
    this.#until = until;
    this.#arm();
  }

  /** Fenced for good (leave, close): completes `lease$`. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#timer);
    if (this.#subject.value !== 'fenced') this.#subject.next('fenced');
    this.#subject.complete();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const left = this.#until - performance.now();
    if (left <= 0) {
      if (this.#subject.value !== 'fenced') this.#subject.next('fenced');
      return;
    }
    if (this.#subject.value !== 'valid') this.#subject.next('valid');
    this.#timer = setTimeout(() => this.#arm(), Math.ceil(left));
  }
}
