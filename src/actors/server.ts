/**
 * The callee's side: serve the calls arriving on one mailbox channel. For each call: validate it,
 * apply the per-connection limit, admit it (method exists, caller authorized), start its deadline,
 * watch its reply channel for cancellation, decode its arguments, run it through the target (the
 * actor's mailbox), and answer on the reply channel — one value, a stream with backpressure, or an
 * ERROR record. Every call ends: with a reply, an error, its deadline, or the connection.
 *
 * Bad input from the peer fails only that call (INVALID_ARGUMENT on its reply channel); a message
 * with no reply channel to answer on is dropped. A call that is refused or fails releases every channel
 * and byte stream it carried (ends.ts).
 */

import { isObservable } from 'rxjs';
import type { Receiver, Sender } from '../transport/channel/index.js';
import { isTransportError } from '../transport/errors.js';
import { decodeArgs } from './args.js';
import { CallScope } from './context.js';
import { releaseEnds } from './ends.js';
import { errorToWire, type RpcError, rpcError, toRpcError } from './errors.js';
import { isStreamLike } from './invoke.js';
import type { Link } from './link.js';
import { pumpIterable, pumpObservable } from './pump.js';
import { cellTarget, type Target } from './target.js';
import { type ParsedCall, parseCall, parseOpen, replyOf, type UnaryReply } from './wire.js';

/**
 * Serve `receiver`'s calls on `link` until it ends. With a `target`, calls go to it (a nested mailbox:
 * a callback or a ref we passed); without, the first message must name an actor (a top-level mailbox).
 * The link keeps the receiver so its close can end it (see Link.close).
 */
export function serveMailbox(link: Link, receiver: Receiver<unknown>, target?: Target): void {
  if (!link.serve(receiver, target !== undefined)) {
    receiver.cancel();
    return;
  }
  let resolved: Target | string | undefined = target;
  const report = (err: unknown) => link.core.report(err); // once per mailbox, not per call
  receiver.subscribe({
    next(message) {
      if (resolved === undefined) {
        try {
          resolved = parseOpen(message);
        } catch {
          // Bad input from the peer ends only this channel.
          receiver.cancel();
        }
        return;
      }
      serveCall(link, resolved, message).catch(report);
    },
    // The mailbox ended (the peer closed it, or the connection ended): calls already read go on.
    error: () => link.unserve(receiver),
    complete: () => link.unserve(receiver),
  });
}

/** A top-level mailbox's target: the actor by name, looked up per call (it may be registered later). */
function targetOf(link: Link, target: Target | string): Target {
  if (typeof target !== 'string') return target;
  const cell = link.core.lookup(target);
  if (!cell) throw rpcError('NOT_FOUND', `no actor named ${target}`);
  return cellTarget(cell);
}

async function serveCall(link: Link, where: Target | string, message: unknown): Promise<void> {
  let call: ParsedCall;
  try {
    call = parseCall(message);
  } catch (err) {
    const reply = replyOf(message);
    if (reply) answerError(link, reply, err);
    releaseEnds(message);
    return;
  }
  const { reply } = call;
  if (!link.beginServe()) {
    releaseEnds(call.args);
    const max = link.core.config.maxCallsPerConnection;
    return answerError(
      link,
      reply,
      rpcError('RESOURCE_EXHAUSTED', `${max} calls in progress (maxCallsPerConnection)`),
    );
  }
  let target: Target;
  try {
    target = targetOf(link, where);
    target.admit(call.method, link.caller);
  } catch (err) {
    link.endServe();
    releaseEnds(call.args);
    return answerError(link, reply, err);
  }

  let answered = false;
  const timeout = call.timeoutMs ?? target.defaultTimeout(call.method, call.stream);
  const scope = new CallScope(link.caller, target.actor, call.method, timeout, (reason: RpcError) => {
    // Our own deadline is answered; a cancelled or lost reply channel has nobody to answer.
    if (!answered && scope.expired) answerError(link, reply, reason);
    answered = true;
  });
  link.watch(scope);
  void reply.closed.then((err) => {
    if (err === undefined) return;
    if (isTransportError(err, 'CHANNEL_CANCELLED')) scope.cancel();
    else scope.abort(toRpcError(err));
  });
  const args = decodeArgs(link, call.args, call.kinds, scope);
  let failed = true;
  try {
    const result = await target.dispatch(call.method, args.values, scope.context, call.stream);
    if (scope.aborted) return;
    failed = false;
    answered = true;
    if (!call.stream) {
      const body: UnaryReply = isStreamLike(result) ? { s: 1 } : result === undefined ? {} : { v: result };
      await sendOne(link, reply, body);
    } else if (isStreamLike(result)) {
      await streamResult(link, target, call.method, result, reply, scope);
    } else {
      await sendOne(link, reply, result);
    }
  } catch (err) {
    if (!answered) {
      answered = true;
      answerError(link, reply, scope.reason ?? err);
    }
  } finally {
    scope.dispose();
    link.unwatch(scope);
    args.release();
    link.endServe();
    // A call that failed (refused while queued, deadline, handler error) leaves nothing open.
    if (failed) releaseEnds(args.values);
  }
}

async function streamResult(
  link: Link,
  target: Target,
  method: string,
  source: object,
  reply: Sender<unknown>,
  scope: CallScope,
): Promise<void> {
  const { config, stats } = link.core;
  const per = target.streamOptions(method);
  const options = {
    buffer: per.buffer ?? config.streamBuffer,
    overflow: per.overflow ?? config.overflow,
    exposeStack: config.exposeStackTraces,
    signal: scope.signal,
    stats,
  };
  const end = isObservable(source)
    ? await pumpObservable(source, reply, options)
    : await pumpIterable(source as AsyncIterable<unknown>, reply, options);
  // A deadline during the stream: the scope's abort handler cannot answer (the stream had begun).
  const reason = scope.reason;
  if (end === 'cancelled' && reason?.code === 'DEADLINE_EXCEEDED' && scope.expired) {
    reply.error(reason.code, reason.message);
  }
}

/**
 * The one message of a reply, then FIN. A value that cannot be sent (ENCODE_ERROR, MESSAGE_TOO_LARGE)
 * is answered with its error instead; a reply channel that is gone (cancelled, connection lost) is left.
 */
async function sendOne(link: Link, reply: Sender<unknown>, message: unknown): Promise<void> {
  try {
    await reply.send(message);
    reply.close();
  } catch (err) {
    answerError(link, reply, err);
  }
}

function answerError(link: Link, reply: Sender<unknown>, err: unknown): void {
  const e = errorToWire(err, link.core.config.exposeStackTraces);
  reply.error(e.code, e.message, e.details);
}
