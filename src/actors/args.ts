/**
 * Arguments that are not plain data, on both sides of a call (top-level arguments only; values nested
 * inside objects travel as data, Node byte streams included — the channel layer carries those).
 *
 * | the caller passes                  | on the wire (`x`) | the handler gets                          | lives until              |
 * |------------------------------------|-------------------|-------------------------------------------|--------------------------|
 * | Observable / AsyncIterable         | STREAM (1)        | a Receiver: an Observable (one subscriber) and an async iterable | the call ends |
 * | a function                         | CALLBACK (2)      | a function whose calls go back            | the call ends            |
 * | a ref (local or remote)            | REF (3)           | a ref to the same actor, through us       | the holder drops it, or the connection ends |
 *
 * A passed ref is a capability: the peer's calls through it are not checked against `allow` lists.
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

/**
 * Replace streams, functions and refs among `args` with channels, and start serving them on `link`:
 * streams are pumped (with the system's buffer and overflow policy), callbacks and refs served as
 * mailboxes. Streams and callbacks stop when `callEnded` aborts.
 */
export function encodeArgs(link: Link, args: readonly unknown[], callEnded: AbortSignal): EncodedArgs {
  let kinds: ArgKind[] | undefined;
  const values = args.map((arg, i) => {
    const kind = kindOf(arg);
    if (kind === ArgKind.VALUE) return arg;
    kinds ??= new Array<ArgKind>(args.length).fill(ArgKind.VALUE);
    kinds[i] = kind;
    if (kind === ArgKind.STREAM) return streamArg(link, arg as AsyncIterable<unknown>, callEnded);
    const receiver = new Receiver<unknown>();
    if (kind === ArgKind.CALLBACK) {
      serveMailbox(link, receiver, functionTarget(arg as Function));
      callEnded.addEventListener('abort', () => receiver.cancel(), { once: true });
    } else {
      const state = refState(arg as object)!;
      serveMailbox(link, receiver, state.invoker.target(state.options));
    }
    return receiver;
  });
  return { values, kinds };
}

function kindOf(arg: unknown): ArgKind {
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

const refFinalizer = new FinalizationRegistry<Sender<unknown>>((sender) => sender.close());

/** Turn the channels of a received call into what its handler gets (see the table above). */
export function decodeArgs(link: Link, args: unknown[], kinds: readonly ArgKind[] | undefined): DecodedArgs {
  if (!kinds) return { values: args, release: () => {} };
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
        return (...callArgs: unknown[]) => new Call(invoker, '', callArgs, {});
      }
      case ArgKind.REF: {
        const sender = arg as Sender<unknown>;
        const ref = makeRef(new ChannelInvoker(link, sender, 'ref'));
        // The ref lives as long as the handler keeps it: when it is collected, its mailbox is closed.
        refFinalizer.register(ref, sender);
        return ref;
      }
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
