/**
 * In-process dispatch: a ref to an actor of this system. Calls go through the actor's mailbox like
 * remote ones, with the same deadlines, cancellation and errors (every failure is an RpcError), but
 * nothing is serialized: arguments and results are passed BY REFERENCE, not copied — do not mutate an
 * object after passing it. An Observable or callback argument is the caller's own object. Local calls
 * are not checked against `allow` lists (the caller is this process; `ctx.caller.local` is true).
 */
import { Observable, type Subscription } from 'rxjs';
import { Stream } from './call.js';
import type { ActorCell } from './cell.js';
import { CallScope, LOCAL_CALLER, onSignal } from './context.js';
import { rpcError, toRpcError } from './errors.js';
import { isStreamLike, toObservable } from './invoke.js';
import type { RefInvoker } from './ref.js';
import { capabilityTarget, type Target } from './target.js';
import type { CallOptions } from './types.js';

export class LocalInvoker implements RefInvoker {
  constructor(
    private readonly actor: string,
    private readonly lookup: (name: string) => ActorCell | undefined,
  ) {}

  unary(method: string, args: unknown[], options: CallOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let cell: ActorCell;
      try {
        cell = this.admitted(method);
      } catch (err) {
        reject(toRpcError(err));
        return;
      }
      const scope = new CallScope(
        LOCAL_CALLER,
        this.actor,
        method,
        options.timeoutMs || cell.defaultTimeout(method, false),
        reject,
      );
      const unlink = onSignal(options.signal, (reason) => scope.abort(reason));
      cell
        .dispatch(method, args, scope.context)
        .then(
          // A stream awaited: like a remote one, each subscription is a fresh stream call.
          (result) => resolve(isStreamLike(result) ? this.streamOf(method, args, options) : result),
          (err) => reject(toRpcError(err)),
        )
        .finally(() => {
          scope.dispose();
          unlink();
        });
    });
  }

  stream(method: string, args: unknown[], options: CallOptions): Observable<unknown> {
    return new Observable((subscriber) => {
      let cell: ActorCell;
      try {
        cell = this.admitted(method);
      } catch (err) {
        subscriber.error(toRpcError(err));
        return;
      }
      let ended = false;
      const fail = (err: unknown) => {
        ended = true;
        subscriber.error(toRpcError(err));
      };
      const scope = new CallScope(
        LOCAL_CALLER,
        this.actor,
        method,
        options.timeoutMs || cell.defaultTimeout(method, true),
        fail,
      );
      const unlink = onSignal(options.signal, (reason) => scope.abort(reason));
      let inner: Subscription | undefined;
      cell.dispatch(method, args, scope.context).then((result) => {
        if (subscriber.closed) return;
        if (!isStreamLike(result)) {
          ended = true;
          subscriber.next(result);
          subscriber.complete();
          return;
        }
        inner = toObservable(result).subscribe({
          next: (v) => subscriber.next(v),
          error: fail,
          complete: () => {
            ended = true;
            subscriber.complete();
          },
        });
      }, fail);
      return () => {
        inner?.unsubscribe();
        // Unsubscribed before the end: the handler's signal says so.
        if (!ended) scope.abort(rpcError('CANCELLED', `${this.actor}.${method}: unsubscribed`));
        scope.dispose();
        unlink();
      };
    });
  }

  private streamOf(method: string, args: unknown[], options: CallOptions): Stream<unknown> {
    return new Stream((s) => this.stream(method, args, options).subscribe(s));
  }

  target(): Target {
    const cell = this.lookup(this.actor);
    if (cell) return capabilityTarget(cell);
    const actor = this.actor;
    const missing = () => {
      throw rpcError('NOT_FOUND', `no actor named ${actor}`);
    };
    return {
      actor,
      admit: missing,
      defaultTimeout: () => undefined,
      streamOptions: () => ({}),
      dispatch: missing,
    };
  }

  private admitted(method: string): ActorCell {
    const cell = this.lookup(this.actor);
    if (!cell) throw rpcError('NOT_FOUND', `no actor named ${this.actor}`);
    cell.admit(method, LOCAL_CALLER);
    return cell;
  }
}
