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
    return parseArgs({ args, options, allowPositionals: allowPositionals as true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
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
