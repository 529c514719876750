/**
 * The commands the rexec server will run: a fixed allow-list. A request names a command and its
 * arguments; only names listed here run, each argument is checked by its command, and nothing goes
 * through a shell. Pure: no processes are started here.
 */
import { rpcError } from '../../src/index.js';

/** What to spawn: an executable and its full argument vector. */
export interface Program {
  file: string;
  args: string[];
}

/** Upper-cases stdin to stdout; reports the byte count on stderr; exits 1 when stdin was empty. */
const UPPER_SCRIPT = `
let n = 0;
process.stdin.on('data', (c) => { n += c.length; process.stdout.write(c.toString('latin1').toUpperCase()); });
process.stdin.on('end', () => {
  process.stderr.write(n === 0 ? 'upper: no input\\n' : 'upper: read ' + n + ' bytes\\n');
  process.exitCode = n === 0 ? 1 : 0;
});`;

const WC_FLAGS = new Set(['-c', '-l', '-w']);
const MAX_ARGS = 16;
const MAX_ARG_LENGTH = 256;

/** Builds the Program for a request, or throws why it may not run. */
type Rule = (args: readonly string[]) => Program;

const RULES: Readonly<Record<string, Rule>> = {
  /** stdin to stdout, unchanged. No arguments: it may not read the server's files. */
  cat: (args) => {
    if (args.length > 0) throw rpcError('INVALID_ARGUMENT', 'cat takes no arguments (stdin only)');
    return { file: 'cat', args: [] };
  },
  /** Prints its arguments. */
  echo: (args) => ({ file: 'echo', args: [...args] }),
  /** Counts stdin: bytes, lines or words. */
  wc: (args) => {
    const bad = args.find((a) => !WC_FLAGS.has(a));
    if (bad !== undefined) throw rpcError('INVALID_ARGUMENT', `wc takes only -c, -l, -w; got ${bad}`);
    return { file: 'wc', args: [...args] };
  },
  /** A fixed Node script (see UPPER_SCRIPT): shows stderr and a non-zero exit status. */
  upper: (args) => {
    if (args.length > 0) throw rpcError('INVALID_ARGUMENT', 'upper takes no arguments');
    return { file: process.execPath, args: ['-e', UPPER_SCRIPT] };
  },
};

/** The names of the allowed commands. */
export const ALLOWED: readonly string[] = Object.keys(RULES);

/**
 * The Program to run for `command args...`. Throws RpcError PERMISSION_DENIED for a command not in the
 * allow-list, INVALID_ARGUMENT for arguments it does not accept (too many, too long, not strings, or
 * refused by the command's rule).
 */
export function resolveCommand(command: unknown, args: unknown): Program {
  if (typeof command !== 'string' || !Object.hasOwn(RULES, command)) {
    throw rpcError(
      'PERMISSION_DENIED',
      `command ${String(command)} is not allowed (allowed: ${ALLOWED.join(', ')})`,
    );
  }
  if (!Array.isArray(args) || args.length > MAX_ARGS) {
    throw rpcError('INVALID_ARGUMENT', `arguments must be an array of at most ${MAX_ARGS} strings`);
  }
  if (!args.every((a): a is string => typeof a === 'string' && a.length <= MAX_ARG_LENGTH)) {
    throw rpcError(
      'INVALID_ARGUMENT',
      `each argument must be a string of at most ${MAX_ARG_LENGTH} characters`,
    );
  }
  return RULES[command]!(args);
}
