/**
 * `rxchan call`: one call from the shell. Arguments are JSON, results are JSON, one value per line; a
 * stream prints its items until it ends or Ctrl-C cancels the call.
 */
import type { Subscription } from 'rxjs';
import type { Call } from '../actors/caller/call.js';
import { rpcError } from '../actors/errors.js';
import type { CallOptions } from '../actors/types.js';
import { type Command, intOption, parse, UsageError } from './command.js';
import { EXIT_INTERRUPTED, reportCallError } from './exit-codes.js';
import { parseJson, stringify } from './json.js';
import { CONNECT_USAGE, loadIdentity, parseAddress } from './options.js';

type Untyped = Record<string, (...args: unknown[]) => Call<unknown>>;

/** Names a ref answers itself (never a call): see caller/ref.ts. */
const NOT_CALLS = new Set(['then', 'toJSON', 'withOptions']);

export const call: Command = {
  summary: 'call a method of an actor on a server; JSON in, JSON out',
  usage: [
    'usage: rxchan call HOST:PORT --key SERVERKEY [--id KEYFILE] [options] ACTOR.METHOD [JSON ...]',
    '',
    'Calls METHOD of ACTOR (the last dot splits them) with one argument per JSON text, and prints the',
    'result as JSON: a value on one line; a stream one item per line until it ends. Ctrl-C cancels the',
    "call (the server's handler sees its signal abort) and exits 130. Put -- before arguments that",
    'start with a dash (-- -1 2). Bytes are {"$bytes":"<base64>"} and integers beyond 2^53',
    '{"$bigint":"<decimal>"}, both ways; undefined prints as null.',
    '',
    ...CONNECT_USAGE,
    "      --timeout MS     deadline of the call (a stream: of all of it); default: the server's",
    '  -m, --metadata K=V   call metadata (callContext().metadata); repeatable',
    '  -w, --watch          on a terminal, redraw the latest item (indented) instead of adding lines',
    '',
    'Exit: 0 done; 1 failed before calling (e.g. a bad key file), or a result is not JSON (a byte',
    'stream: the call is cancelled); 2 bad usage (a bad JSON argument); 130 Ctrl-C; a failed call prints "CODE: message" (and "details: JSON") on stderr and exits',
    '10 + the gRPC number of its code:',
    '  CANCELLED 11, UNKNOWN 12, INVALID_ARGUMENT 13, DEADLINE_EXCEEDED 14, NOT_FOUND 15,',
    '  PERMISSION_DENIED 17, RESOURCE_EXHAUSTED 18, UNIMPLEMENTED 22, INTERNAL 23, UNAVAILABLE 24,',
    '  UNAUTHENTICATED 26.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parse(
      args,
      {
        key: { type: 'string', short: 'k' },
        id: { type: 'string' },
        timeout: { type: 'string' },
        metadata: { type: 'string', short: 'm', multiple: true },
        watch: { type: 'boolean', short: 'w' },
      },
      true,
    );
    const [where, target, ...texts] = positionals;
    const address = parseAddress(where);
    if (target === undefined) throw new UsageError('call needs ACTOR.METHOD');
    const dot = target.lastIndexOf('.');
    if (dot <= 0 || dot === target.length - 1)
      throw new UsageError(`${JSON.stringify(target)} is not ACTOR.METHOD`);
    const actorName = target.slice(0, dot);
    const methodName = target.slice(dot + 1);
    const callArgs = texts.map((text, i) => {
      try {
        return parseJson(text);
      } catch (err) {
        throw new UsageError(`argument ${i + 1} is not JSON: ${(err as Error).message}`);
      }
    });
    if (values.key === undefined) throw new UsageError('call needs --key SERVERKEY');
    const options: CallOptions = {};
    if (values.timeout !== undefined) options.timeoutMs = intOption(values.timeout, '--timeout', 0);
    if (values.metadata) options.metadata = metadataOf(values.metadata);
    const identity = await loadIdentity(values.id);
    const { connect } = await import('./client.js');
    const client = connect(address, identity, values.key);
    try {
      if (NOT_CALLS.has(methodName)) {
        return reportCallError(rpcError('UNIMPLEMENTED', `${methodName} is never a method of an actor`));
      }
      // A ref's method returns a Call (an Observable) whatever the actor; the type says so.
      const ref = client.system.ref<Untyped>(actorName, client.peer, options) as unknown as Untyped;
      const view = values.watch && process.stdout.isTTY ? watchView(target) : lineView();
      return await follow(ref[methodName]!(...callArgs), view);
    } finally {
      await client.close();
    }
  },
};

/** `K=V` texts as metadata. Throws UsageError for one without `=` or with an empty key. */
function metadataOf(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata ${JSON.stringify(pair)} is not K=V`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** How results are shown. */
interface View {
  item(value: unknown): void;
  done(): void;
}

function lineView(): View {
  return { item: (v) => process.stdout.write(`${stringify(v)}\n`), done() {} };
}

/** The latest item, indented, redrawn in place (ANSI: cursor home, clear screen). */
function watchView(target: string): View {
  let count = 0;
  return {
    item(v) {
      count++;
      const at = new Date().toISOString();
      process.stdout.write(`\x1b[H\x1b[2J${target}: item ${count} at ${at} (Ctrl-C to stop)\n\n`);
      process.stdout.write(`${stringify(v, 2)}\n`);
    },
    done: () => process.stdout.write(`\n(ended after ${count} items)\n`),
  };
}

/**
 * Subscribes to the call and shows its results. Resolves with the exit status: 0 when it completes,
 * the code's status when it fails, 128 + the signal's number on SIGINT or SIGTERM (the subscription is
 * dropped: the call is cancelled on the server), 0 when stdout is closed (EPIPE: `| head`; cancelled
 * too), 1 when a result cannot be printed as JSON (cancelled too).
 */
function follow(call: Call<unknown>, view: View): Promise<number> {
  return new Promise<number>((resolve) => {
    let subscription: Subscription | undefined;
    let ended = false;
    const end = (status: number) => {
      if (ended) return;
      ended = true;
      subscription?.unsubscribe();
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.stdout.off('error', onStdoutError);
      resolve(status);
    };
    const onInt = () => end(EXIT_INTERRUPTED);
    const onTerm = () => end(143);
    const onStdoutError = (err: NodeJS.ErrnoException) => end(err.code === 'EPIPE' ? 0 : 1);
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    process.stdout.on('error', onStdoutError);
    subscription = call.subscribe({
      next: (v) => {
        if (ended) return;
        try {
          view.item(v);
        } catch (err) {
          // Not JSON (a byte stream, a cycle): say so and cancel the call.
          process.stderr.write(`rxchan call: cannot print the result as JSON: ${(err as Error).message}\n`);
          end(1);
        }
      },
      error: (err: unknown) => end(reportCallError(err)),
      complete: () => {
        view.done();
        end(0);
      },
    });
    if (ended) subscription.unsubscribe();
  });
}
