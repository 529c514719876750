/**
 * An actor's mailbox: an RxJS Subject of jobs, drained by `mergeMap` with the actor's concurrency.
 * With concurrency 1 (the default) the actor handles one message at a time, in the order they were
 * posted; with N, up to N run at once and they still START in posting order.
 *
 * A job is one turn of the actor: it lasts until the promise it returns settles. A job that throws
 * fails only its own `post()` promise; the mailbox goes on with the next one.
 */
import { from, mergeMap, Subject, type Subscription } from 'rxjs';
import { rpcError } from './errors.js';

interface Job {
  readonly run: () => Promise<void>;
}

export class Mailbox {
  private readonly subject = new Subject<Job>();
  private readonly subscription: Subscription;
  private queued = 0;
  private running = 0;
  private closing = false;
  private idle: (() => void) | undefined;

  /**
   * @param name the actor's name, for error messages
   * @param concurrency jobs run at once, at least 1
   * @param capacity jobs that may wait (not yet started); 0: no limit
   */
  constructor(
    private readonly name: string,
    concurrency: number,
    private readonly capacity: number,
  ) {
    this.subscription = this.subject
      .pipe(
        mergeMap((job) => {
          this.queued--;
          this.running++;
          return from(job.run());
        }, concurrency),
      )
      .subscribe(() => {
        this.running--;
        if (this.closing && this.queued === 0 && this.running === 0) this.idle?.();
      });
  }

  /** Jobs waiting for their turn. */
  get size(): number {
    return this.queued;
  }

  /** Jobs running now. */
  get active(): number {
    return this.running;
  }

  /**
   * Queue `job`; resolves or rejects with its outcome when its turn has run. Rejects at once with
   * RESOURCE_EXHAUSTED when `capacity` jobs already wait, and UNAVAILABLE after {@link close}.
   */
  post<T>(job: () => T | Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(rpcError('UNAVAILABLE', `actor ${this.name} is stopping`));
    if (this.capacity > 0 && this.queued >= this.capacity) {
      return Promise.reject(
        rpcError('RESOURCE_EXHAUSTED', `actor ${this.name}: mailbox full (${this.capacity})`),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.queued++;
      this.subject.next({
        run: async () => {
          try {
            resolve(await job());
          } catch (err) {
            reject(err);
          }
        },
      });
    });
  }

  /** Accept no more jobs; resolves when every queued and running job has finished. Idempotent. */
  close(): Promise<void> {
    this.closing = true;
    const done = new Promise<void>((resolve) => {
      if (this.queued === 0 && this.running === 0) resolve();
      else {
        const prev = this.idle;
        this.idle = () => {
          prev?.();
          resolve();
        };
      }
    });
    return done.then(() => {
      this.subject.complete();
      this.subscription.unsubscribe();
    });
  }
}
