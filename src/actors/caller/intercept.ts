/**
 * The client side of interceptors (see interceptors.ts): a ref's call through the system's client
 * interceptors, then the invoker's own call. Whatever an interceptor returns becomes the one
 * {@link Call} the ref's method returns: a Call as it is; a promise or a plain value as a Call settled
 * by it (a stream that awaiting a Call gave is handed on as a stream).
 */
import { isRpcError, toRpcError } from '../errors.js';
import type { ClientInterceptor, OutgoingCall } from '../interceptors.js';
import { isThenable } from '../invoke.js';
import { Call, type CallMaker, ResultStream } from './call.js';

/**
 * Make `call` through `interceptors`; `send` makes it past the last one. `maker` makes the same call
 * again from the start (a second subscription to a stream result). Never throws: an interceptor's
 * exception fails the Call.
 */
export function interceptCall(
  interceptors: readonly ClientInterceptor[],
  maker: CallMaker,
  call: OutgoingCall,
  send: (call: OutgoingCall) => Call<unknown>,
): Call<unknown> {
  const run = new ClientRun(interceptors, maker, send);
  return run.step(0, call);
}

/** One call's way through the chain; `latest` is the attempt past the chain a cancel must reach. */
class ClientRun {
  private latest: Call<unknown> | undefined;

  constructor(
    private readonly interceptors: readonly ClientInterceptor[],
    private readonly maker: CallMaker,
    private readonly send: (call: OutgoingCall) => Call<unknown>,
  ) {}

  step(i: number, call: OutgoingCall): Call<unknown> {
    if (i === this.interceptors.length) {
      const attempt = this.send(call);
      this.latest = attempt;
      return attempt;
    }
    let result: unknown;
    try {
      result = this.interceptors[i]!(call, (next) => this.step(i + 1, checked(next)));
    } catch (err) {
      return this.failed(call, err);
    }
    return result instanceof Call ? result : this.adopt(call, result);
  }

  /** A Call settled by what an interceptor returned instead of one. */
  private adopt(call: OutgoingCall, result: unknown): Call<unknown> {
    const adopted = new Call<unknown>(this.maker, call.method, [...call.args], call.options);
    adopted.onCancel((reason) => this.latest?.cancelPending(reason.message));
    if (!isThenable(result)) {
      settle(adopted, result);
      return adopted;
    }
    result.then(
      (value) => settle(adopted, value),
      (err: unknown) => adopted.reject(toRpcError(err, 'INTERNAL')),
    );
    return adopted;
  }

  private failed(call: OutgoingCall, err: unknown): Call<unknown> {
    const failed = new Call<unknown>(this.maker, call.method, [...call.args], call.options);
    failed.reject(isRpcError(err) ? err : toRpcError(err, 'INTERNAL'));
    return failed;
  }
}

function settle(call: Call<unknown>, value: unknown): void {
  if (value instanceof ResultStream) call.resolveStream(value.itemSource());
  else call.resolveValue(value);
}

/** What an interceptor passed to `next`: an OutgoingCall, or a TypeError naming the mistake. */
function checked(call: OutgoingCall): OutgoingCall {
  if (typeof call !== 'object' || call === null || !Array.isArray(call.args)) {
    throw new TypeError('a client interceptor must pass next() the call (with its args array)');
  }
  return call;
}
