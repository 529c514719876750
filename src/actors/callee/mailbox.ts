/**
 * An actor's mailbox: an RxJS Subject of jobs, drained with the actor's concurrency. With concurrency 1
 * (the default) the actor handles one message at a time, in the order they were posted; with N, up to N
 * run at once and they still START in posting order.
 *
 * A job is one turn of the actor: it lasts until the promise it returns settles (a job that returns a
 * plain value, or throws, ends at once and the next one may start in the same tick). A job that throws
 * fails only its own `post()` promise; the mailbox goes on with the next one.
 *
 * Closing it (when the actor stops) refuses the jobs still waiting, UNAVAILABLE, without running them,
 * and waits only for those already running. Holding it (while the actor starts or restarts) lets jobs
 * be posted but starts none until it is released.
 *
 * The drain is a plain FIFO and a running count rather than `mergeMap`: it is on the path of every call,
 * and `mergeMap(job => from(promise))` costs an Observable, a subscription and a promise per message.
 * For the same reason a job is an object with methods ({@link MailboxJob}, given to {@link Mailbox.enqueue}):
 * a served call is its own job, so a call whose handler returns a plain value costs no promise and no
 * closure here. {@link Mailbox.post} wraps a function in a job for callers that want a promise.
 */
import { Subject, type Subscription } from 'rxjs';
import { type RpcError, rpcError } from '../errors.js';
import { isThenable } from '../invoke.js';

/** One turn of the actor: `run` starts it; then exactly one of `resolve` / `reject` gets its outcome. */
export interface MailboxJob {
  /** Runs the turn; a thenable result keeps the turn going until it settles. May throw. */
  run(): unknown;
  /** The turn's value (a thenable result's value, once settled). */
  resolve(value: unknown): void;
  /** What the turn threw or rejected with, or why it never ran (RESOURCE_EXHAUSTED, UNAVAILABLE). */
  reject(err: unknown): void;
}

type Job = MailboxJob;

/** A function posted with {@link Mailbox.post}, settling the promise `post` returned. */
class FunctionJob implements MailboxJob {
  constructor(
    readonly run: () => unknown,
    readonly resolve: (value: unknown) => void,
    readonly reject: (err: unknown) => void,
  ) {}
}

export class Mailbox {
  private readonly subject = new Subject<Job>();
  private readonly subscription: Subscription;
  /** Posted jobs that have not started, oldest first (from `head`). */
  private waiting: Job[] = [];
  private head = 0;
  private running = 0;
  private draining = false;
  private closing = false;
  private held = false;
  /** Bumped by {@link forgetRunning}: a job started in an earlier generation no longer counts. */
  private generation = 0;
  private idle: (() => void) | undefined;
  /** What the actor is once closed, for the errors of refused jobs. */
  private why = 'stopping';
  /** The error of refused jobs, when the closer gave one (else UNAVAILABLE saying {@link why}). */
  private refusal: RpcError | undefined;

  /**
   * @param name the actor's name, for error messages
   * @param concurrency jobs run at once, at least 1
   * @param capacity jobs that may wait (not yet started); 0: no limit
   */
  constructor(
    private readonly name: string,
    private readonly concurrency: number,
    private readonly capacity: number,
  ) {
    this.subscription = this.subject.subscribe((job) => {
      if (
        !this.draining &&
        !this.held &&
        this.running < this.concurrency &&
        this.head === this.waiting.length
      ) {
        // Nothing waits and there is room: start it now, without queueing it (the common case of a
        // served call; queueing would grow a fresh array per call). Jobs posted meanwhile wait for drain.
        this.draining = true;
        this.running++;
        try {
          this.start(job);
        } finally {
          this.draining = false;
        }
        this.drain();
        return;
      }
      this.waiting.push(job);
      this.drain();
    });
  }

  /** Jobs waiting for their turn. */
  get size(): number {
    return this.waiting.length - this.head;
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
    return new Promise<T>((resolve, reject) => {
      this.enqueue(new FunctionJob(job, resolve as (value: unknown) => void, reject));
    });
  }

  /**
   * Queue `job` (see {@link post}). When it cannot be queued, `job.reject` runs at once, before this
   * returns: RESOURCE_EXHAUSTED when `capacity` jobs already wait, UNAVAILABLE after {@link close}. A job
   * that can start at once runs before this returns too.
   */
  enqueue(job: MailboxJob): void {
    if (this.closing) {
      job.reject(this.refusal ?? rpcError('UNAVAILABLE', `actor ${this.name} is ${this.why}`));
      return;
    }
    if (this.capacity > 0 && this.size >= this.capacity) {
      job.reject(rpcError('RESOURCE_EXHAUSTED', `actor ${this.name}: mailbox full (${this.capacity})`));
      return;
    }
    this.subject.next(job);
  }

  /** Start no job until {@link release}; jobs are still posted (up to `capacity`) and wait. Idempotent. */
  hold(): void {
    this.held = true;
  }

  /** Start the waiting jobs again, in order, while there is room. */
  release(): void {
    this.held = false;
    this.drain();
  }

  /**
   * The jobs running now no longer take a place in the concurrency, nor keep {@link close} waiting:
   * they were aborted and are not waited for. Each still gets its own outcome when it ends.
   */
  forgetRunning(): void {
    this.generation++;
    this.running = 0;
    if (this.closing) this.wakeIdle();
  }

  /**
   * Accept no more jobs, and refuse those still waiting: each one's `reject` gets UNAVAILABLE at once
   * (the actor "is `why`"), or `refusal` when given, in posting order, and it never runs. Resolves when
   * the jobs running now have finished (at once when none is). Idempotent: every call resolves at the
   * same moment.
   */
  close(why = 'stopping', refusal?: RpcError): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.why = why;
      this.refusal = refusal;
      this.refuseWaiting();
    }
    const done = new Promise<void>((resolve) => {
      if (this.running === 0) resolve();
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

  /** The jobs that have not started, refused UNAVAILABLE (see {@link close}). */
  private refuseWaiting(): void {
    const waiting = this.waiting.slice(this.head);
    this.waiting = [];
    this.head = 0;
    for (const job of waiting) {
      job.reject(
        this.refusal ??
          rpcError('UNAVAILABLE', `actor ${this.name} is ${this.why}: the call was still queued`),
      );
    }
  }

  /** Start waiting jobs while there is room. A loop, not recursion: jobs that end at once chain here. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    while (!this.held && this.running < this.concurrency && this.head < this.waiting.length) {
      const job = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as unknown as Job;
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      this.running++;
      this.start(job);
    }
    this.draining = false;
  }

  private start(job: Job): void {
    let result: unknown;
    try {
      result = job.run();
    } catch (err) {
      this.finished();
      job.reject(err);
      return;
    }
    if (!isThenable(result)) {
      this.finished();
      job.resolve(result);
      return;
    }
    const generation = this.generation;
    (result as PromiseLike<unknown>).then(
      (value) => {
        this.finished(generation);
        job.resolve(value);
        this.drain();
      },
      (err: unknown) => {
        this.finished(generation);
        job.reject(err);
        this.drain();
      },
    );
  }

  /**
   * A job ended; the caller drains next (the loop in {@link drain}, or the job's own callback). A job
   * of an earlier generation (see {@link forgetRunning}) was no longer counted.
   */
  private finished(generation = this.generation): void {
    if (generation !== this.generation) return;
    this.running--;
    if (this.closing && this.running === 0) this.wakeIdle();
  }

  /** Resolve what {@link close} returned. */
  private wakeIdle(): void {
    const idle = this.idle;
    this.idle = undefined;
    idle?.();
  }
}
