/**
 * Calls on a mailbox channel we were given (a callback or a ref a peer passed us as an argument): the
 * route is fixed — this link, this Sender. When the passer stops serving it (its call ended, or it
 * dropped the ref) or the connection ends, calls fail with UNAVAILABLE.
 */
import type { Observable } from 'rxjs';
import type { Sender } from '../transport/channel/index.js';
import { rpcError } from './errors.js';
import type { Link } from './link.js';
import type { RefInvoker } from './ref.js';
import { iterateCall, type Route, streamCall, unaryCall } from './remote-call.js';
import { forwardTarget, type Target } from './target.js';
import type { CallOptions } from './types.js';

/** Closes the channel of a received ref that was collected without being released. */
const finalizer = new FinalizationRegistry<{ link: Link; mailbox: Sender<unknown> }>(({ link, mailbox }) =>
  link.drop(mailbox),
);

export class ChannelInvoker implements RefInvoker {
  private readonly route: () => Route;
  private released = false;

  /**
   * `held`: a ref the peer passed us, which lives until {@link release} or until every ref made from
   * this invoker is collected (the link also closes it when it closes). A callback's channel is not
   * held: the call that carried it releases it when it ends.
   */
  constructor(
    private readonly link: Link,
    private readonly mailbox: Sender<unknown>,
    what: string,
    held = false,
  ) {
    this.route = () => {
      if (this.released) throw rpcError('UNAVAILABLE', `${what}: released`);
      if (link.isClosed) throw rpcError('UNAVAILABLE', `${what}: the connection is closed`);
      return { link, mailbox };
    };
    if (held) {
      link.hold(mailbox);
      finalizer.register(this, { link, mailbox }, this);
    }
  }

  /** Close the channel: the passer stops serving it; later calls fail UNAVAILABLE. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    finalizer.unregister(this);
    this.link.drop(this.mailbox);
  }

  unary(method: string, args: unknown[], options: CallOptions): Promise<unknown> {
    return unaryCall(this.route, method, args, options);
  }

  stream(method: string, args: unknown[], options: CallOptions): Observable<unknown> {
    return streamCall(this.route, method, args, options);
  }

  iterate(method: string, args: unknown[], options: CallOptions): AsyncIterator<unknown> {
    return iterateCall(this.route, method, args, options);
  }

  /** Passing this ref on to another peer: calls are forwarded through this node. */
  target(options: CallOptions): Target {
    return forwardTarget('', this, options);
  }
}
