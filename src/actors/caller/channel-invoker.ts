/**
 * Calls through a channel a peer passed us: a ref (kept until released or collected) or a callback (it
 * belongs to the call that carried it). The route is fixed: this link, this channel. When the passer
 * stops serving it (the call ended, it dropped the ref) or the connection ends, calls fail UNAVAILABLE.
 */
import type { Sender } from '../../transport/channel/index.js';
import { forwardTarget, type Target } from '../callee/target.js';
import type { CallScope } from '../context.js';
import type { PassedInvoker } from '../ends.js';
import { rpcError } from '../errors.js';
import type { OutgoingCall } from '../interceptors.js';
import type { Link } from '../link.js';
import type { CallOptions } from '../types.js';
import type { Call } from './call.js';
import { interceptCall } from './intercept.js';
import { type Route, type RouteSource, remoteCall } from './remote-call.js';

/** Closes the channel of a received ref that was collected without being released. */
const finalizer = new FinalizationRegistry<{ link: Link; channel: Sender<unknown> }>(({ link, channel }) =>
  link.drop(channel),
);

export class ChannelInvoker implements PassedInvoker {
  /** The fixed route: this link, this channel, while both are open. */
  private readonly source: RouteSource;
  private released = false;
  /** The served call a callback belongs to: calls through it inherit its deadline and cancellation. */
  private scope: CallScope | undefined;

  /**
   * `held`: a ref the peer passed us, which lives until {@link release} or until every ref made from
   * this invoker is collected (the link also closes it when it closes). A callback's channel is not
   * held: the call that carried it releases it when it ends.
   */
  constructor(
    private readonly link: Link,
    private readonly channel: Sender<unknown>,
    what: string,
    held: boolean,
  ) {
    const route: Route = { link, channel };
    this.source = {
      route: () => {
        if (this.released) throw rpcError('UNAVAILABLE', `${what}: released`);
        if (link.isClosed) throw rpcError('UNAVAILABLE', `${what}: the connection is closed`);
        return route;
      },
    };
    if (held) {
      link.hold(channel);
      finalizer.register(this, { link, channel }, this);
    }
  }

  bindTo(scope: CallScope): void {
    this.scope = scope;
  }

  /** Close the channel: the passer stops serving it; later calls fail UNAVAILABLE. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    finalizer.unregister(this);
    this.link.drop(this.channel);
  }

  call(method: string, args: unknown[], options: CallOptions): Call<unknown> {
    const chain = this.link.core.interceptors.client;
    const counters = this.link.core.counters;
    if (chain.length === 0)
      return remoteCall(this, this.source, undefined, method, args, options, counters, this.scope);
    const outgoing: OutgoingCall = { actor: '', method, args, options, peer: undefined };
    return interceptCall(chain, this, outgoing, this.send);
  }

  /** A call past the client interceptors. */
  private readonly send = (c: OutgoingCall): Call<unknown> =>
    remoteCall(
      this,
      this.source,
      undefined,
      c.method,
      c.args as unknown[],
      c.options,
      this.link.core.counters,
      this.scope,
    );

  /** Passing this ref on to another peer: calls are forwarded through this node. */
  target(options: CallOptions): Target {
    return forwardTarget('', this, options);
  }
}
