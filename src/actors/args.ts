/**
 * Arguments that are not plain data, on both sides of a call (top-level arguments only; values nested
 * inside objects travel as data, Node byte streams included — the channel layer carries those).
 *
 * | the caller passes                  | on the wire (`x`) | the handler gets                          | lives until              |
 * |------------------------------------|-------------------|-------------------------------------------|--------------------------|
 * | Observable / AsyncIterable         | STREAM (1)        | a Receiver: an Observable (one subscriber) and an async iterable | the call ends |
 * | a function                         | CALLBACK (2)      | a function whose calls go back            | the call ends            |
 * | a ref (local or remote)            | REF (3)           | a ref to the same actor, through us       | the holder releases (`ref[Symbol.dispose]()`) or drops it, or either side closes the connection |
 * | a Node Readable / Writable         | VALUE (0)         | a Readable / Writable over its own stream | the handler ends it; reset if the call fails |
 *
 * A passed ref is a capability: the peer's calls through it are not checked against `allow` lists.
 * Byte streams are the handler's to finish when it succeeds (it may keep writing after it returns); when
 * the call is refused before the handler (UNIMPLEMENTED, PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT,
 * RESOURCE_EXHAUSTED, a deadline while queued) or fails, every channel and byte stream it carried, at any
 * depth, is released by the framework (see ends.ts): the caller's streams see a reset, nothing stays open.
 */

import { isObservable } from 'rxjs';
import { Receiver, Sender } from '../transport/channel/index.js';
import { Call } from './call.js';
import { ChannelInvoker } from './channel-invoker.js';
import { isByteStream, isStreamLike } from './invoke.js';
import type { Link } from './link.js';
import { pumpIterable, pumpObservable } from './pump.js';
import { isRef, makeRef, refState } from './ref.js';
import { serveMailbox } from './server.js';
import { functionTarget } from './target.js';
import { ArgKind } from './wire.js';

/** The caller's arguments, ready for the call message. */
export interface EncodedArgs {
  values: unknown[];
  kinds: ArgKind[] | undefined;
}

/** The call that carries the arguments: its end stops their streams and callbacks. */
export interface CallEnd {
  /** Aborts when the call ends. Asked for only when an argument needs it. */
  endSignal(): AbortSignal;
}

/**
 * Replace streams, functions and refs among `args` with channels, and start serving them on `link`:
 * streams are pumped (with the system's buffer and overflow policy), callbacks and refs served as
 * mailboxes. Streams and callbacks stop when the call ends (`call.endSignal()`, asked for only when there
 * is such an argument: plain data costs no AbortController). With only plain data, `values` is `args`.
 */
export function encodeArgs(link: Link, args: unknown[], call: CallEnd): EncodedArgs {
  let i = 0;
  while (i < args.length && kindOf(args[i]) === ArgKind.VALUE) i++;
  if (i === args.length) return { values: args, kinds: undefined };
  const kinds = new Array<ArgKind>(args.length).fill(ArgKind.VALUE);
  const values = args.slice();
  for (; i < args.length; i++) {
    const arg = args[i];
    const kind = kindOf(arg);
    if (kind === ArgKind.VALUE) continue;
    kinds[i] = kind;
    if (kind === ArgKind.STREAM) {
      values[i] = streamArg(link, arg as AsyncIterable<unknown>, call.endSignal());
      continue;
    }
    const receiver = new Receiver<unknown>();
    if (kind === ArgKind.CALLBACK) {
      serveMailbox(link, receiver, functionTarget(arg as Function));
      call.endSignal().addEventListener('abort', () => receiver.cancel(), { once: true });
    } else {
      const state = refState(arg as object)!;
      serveMailbox(link, receiver, state.invoker.target(state.options));
    }
    values[i] = receiver;
  }
  return { values, kinds };
}

function kindOf(arg: unknown): ArgKind {
  if (arg === null || (typeof arg !== 'object' && typeof arg !== 'function')) return ArgKind.VALUE;
  if (isByteStream(arg)) return ArgKind.VALUE;
  if (isRef(arg)) return ArgKind.REF;
  if (typeof arg === 'function') return ArgKind.CALLBACK;
  if (isStreamLike(arg)) return ArgKind.STREAM;
  return ArgKind.VALUE;
}

function streamArg(link: Link, source: unknown, callEnded: AbortSignal): Sender<unknown> {
  const sender = new Sender<unknown>();
  const { config, stats } = link.core;
  const options = {
    buffer: config.streamBuffer,
    overflow: config.overflow,
    exposeStack: false,
    signal: callEnded,
    stats,
  };
  const pumped = isObservable(source)
    ? pumpObservable(source, sender, options)
    : pumpIterable(source as AsyncIterable<unknown>, sender, options);
  void pumped.then((end) => {
    if (end === 'cancelled') sender.error('CANCELLED', 'the call ended');
  });
  return sender;
}

/** What a handler's arguments became, and how to release them when the call ends. */
export interface DecodedArgs {
  values: unknown[];
  release(): void;
}

const NO_RELEASE = (): void => {};

/**
 * Turn the channels of a received call into what its handler gets (see the table above). `call.signal`
 * is the signal of that call (asked for only when a callback is called): calls through a callback
 * belong to the call that passed it, so when it ends early (the caller cancelled, a deadline, the
 * connection) they fail with its reason and their reply channels are reset — a handler awaiting a
 * callback that never answers is not held once its own call is over.
 */
export function decodeArgs(
  link: Link,
  args: unknown[],
  kinds: readonly ArgKind[] | undefined,
  call: { readonly signal: AbortSignal },
): DecodedArgs {
  if (!kinds) return { values: args, release: NO_RELEASE };
  const releases: (() => void)[] = [];
  const values = args.map((arg, i) => {
    switch (kinds[i]) {
      case ArgKind.STREAM: {
        const receiver = arg as Receiver<unknown>;
        releases.push(() => receiver.cancel());
        return receiver;
      }
      case ArgKind.CALLBACK: {
        const sender = arg as Sender<unknown>;
        releases.push(() => sender.close());
        const invoker = new ChannelInvoker(link, sender, 'callback');
        return (...callArgs: unknown[]) => new Call(invoker, '', callArgs, { signal: call.signal });
      }
      case ArgKind.REF:
        // Lives until the handler releases it (ref[Symbol.dispose]()), drops it (GC), or the link closes.
        return makeRef(new ChannelInvoker(link, arg as Sender<unknown>, 'ref', true));
      default:
        return arg;
    }
  });
  return {
    values,
    release() {
      for (const r of releases) r();
    },
  };
}
