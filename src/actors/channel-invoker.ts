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

export class ChannelInvoker implements RefInvoker {
  private readonly route: () => Route;

  constructor(link: Link, mailbox: Sender<unknown>, what: string) {
    this.route = () => {
      if (link.isClosed) throw rpcError('UNAVAILABLE', `${what}: the connection is closed`);
      return { link, mailbox };
    };
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
