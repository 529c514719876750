/**
 * The server side of interceptors (see interceptors.ts): one served call through the system's server
 * interceptors, then the handler. Runs inside the call's scope (context.ts enters it first).
 */
import type { CallContext, CallScope, HandlerInvoker } from './context.js';
import { rpcError } from './errors.js';
import type { CallEndListener, IncomingCall, ServerInterceptor } from './interceptors.js';

/**
 * Run `interceptors` around `self.fn(...args)` (through `invoker` when given). Returns what the first
 * interceptor returns; throws what it throws.
 */
export function runServerChain(
  interceptors: readonly ServerInterceptor[],
  scope: CallScope,
  fn: Function,
  self: unknown,
  args: readonly unknown[],
  invoker: HandlerInvoker | undefined,
): unknown {
  return new ChainRun(interceptors, scope, fn, self, args, invoker).step(0, args);
}

/** One call's way through the chain; it is the IncomingCall every interceptor of the call sees. */
class ChainRun implements IncomingCall {
  constructor(
    private readonly interceptors: readonly ServerInterceptor[],
    private readonly scope: CallScope,
    private readonly fn: Function,
    private readonly self: unknown,
    readonly args: readonly unknown[],
    private readonly invoker: HandlerInvoker | undefined,
  ) {}

  get context(): CallContext {
    return this.scope.context;
  }

  get receivedAt(): number {
    return this.scope.receivedAt;
  }

  onEnd(listener: CallEndListener): void {
    this.scope.onEnd(listener);
  }

  /** Interceptor `i` with `args`, or past the last one the handler. */
  step(i: number, args: readonly unknown[]): unknown {
    if (i === this.interceptors.length) {
      return this.invoker === undefined
        ? this.fn.apply(this.self, args)
        : this.invoker.invoke(this.fn, this.self, args);
    }
    const interceptor = this.interceptors[i]!;
    let called = false;
    return interceptor(this, (next) => {
      if (called) throw rpcError('INTERNAL', 'a server interceptor called next() more than once');
      called = true;
      if (next !== undefined && !Array.isArray(next)) {
        throw rpcError('INTERNAL', 'a server interceptor passed next() arguments that are not an array');
      }
      return this.step(i + 1, next ?? args);
    });
  }
}
