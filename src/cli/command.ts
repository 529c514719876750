/**
 * What every `rxchan` subcommand is: a summary, a usage text and a `run` that resolves with the exit
 * code. Exit codes: 0 done, 1 the command failed, 2 bad usage; the commands that call a server also
 * exit with the code of an RpcError (exit-codes.ts), and 130 after Ctrl-C.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

/** Bad usage: `main` prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {}

/** Exit code of bad usage. */
export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

/** `parseArgs`, strict, whose failures are UsageErrors; positionals are refused unless allowed. */
export function parse<T extends Options>(
  args: string[],
  options: T,
  allowPositionals = false,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    const joined = joinValues(args, options);
    return parseArgs({ args: joined, options, allowPositionals: allowPositionals as true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * `--key VALUE` as `--key=VALUE` for every option that takes a value: a value may start with `-` (a
 * base64url key does, one time in 64), which parseArgs would otherwise refuse as ambiguous. Stops at
 * `--`.
 */
function joinValues(args: string[], options: Options): string[] {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (o.short !== undefined) takesValue.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (takesValue.has(arg) && next?.startsWith('-') && next !== '--') {
      const long = arg.startsWith('--') ? arg : `--${longName(options, arg.slice(1))}`;
      out.push(`${long}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function longName(options: Options, short: string): string {
  for (const [name, o] of Object.entries(options)) if (o.short === short) return name;
  return short;
}

/** A positive integer option (`--count 3`), or `fallback` when absent. Throws UsageError otherwise. */
export function intOption(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}
