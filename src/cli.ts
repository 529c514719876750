#!/usr/bin/env node
/**
 * The `rxchan` command. Subcommands live in one table, each with its own usage text, so adding one
 * is adding an entry. Exit codes: 0 done, 1 the command failed, 2 bad usage; the commands that call
 * a server (ping, list, call) exit 10 + the gRPC number of a failed call's code, and 130 on Ctrl-C
 * (src/cli/exit-codes.ts).
 *
 *     rxchan keygen --out FILE [--force]   write a new identity, print its public key
 *     rxchan pubkey FILE                   print the public key of a key file
 *     rxchan grant --admin FILE --key KEY --until TIME --name NAME
 *     rxchan ping HOST:PORT [--key KEY] [--id FILE]
 *     rxchan list HOST:PORT --key KEY [--id FILE] [--json]
 *     rxchan call HOST:PORT --key KEY [--id FILE] ACTOR.METHOD [JSON ...]
 *     rxchan help [COMMAND]
 *     rxchan --version
 */
import { type AuthError, Identity, isAuthError, signGrant } from './auth/index.js';
import { call } from './cli/call.js';
import { type Command, EXIT_USAGE, parse, UsageError } from './cli/command.js';
import { list } from './cli/list.js';
import { ping } from './cli/ping.js';
import { packageVersion } from './version.js';

const commands: Record<string, Command> = {
  keygen: {
    summary: 'generate an ed25519 identity and write its key file (mode 0600)',
    usage: [
      'usage: rxchan keygen --out FILE [--force]',
      '',
      'Writes a new ed25519 identity to FILE with mode 0600 and prints its public key (the text to',
      "put in a server's authorized keys, or to pin as serverKey). The fingerprint goes to stderr.",
      '',
      '  -o, --out FILE   where to write the key file (required)',
      '  -f, --force      replace FILE if it exists',
    ].join('\n'),
    async run(args) {
      const { values } = parse(args, {
        out: { type: 'string', short: 'o' },
        force: { type: 'boolean', short: 'f' },
      });
      const out = values.out;
      if (typeof out !== 'string' || out === '') throw new UsageError('keygen needs --out FILE');
      const identity = Identity.generate();
      await identity.save(out, { overwrite: values.force === true });
      process.stdout.write(`${identity.id}\n`);
      process.stderr.write(`wrote ${out} (fingerprint ${identity.fingerprint})\n`);
      return 0;
    },
  },
  pubkey: {
    summary: 'print the public key of a key file',
    usage: [
      'usage: rxchan pubkey FILE',
      '',
      'Prints the public key (base64url) of the identity in FILE; the fingerprint goes to stderr.',
      'FILE must be private (mode 0600), as for every use of a key file.',
    ].join('\n'),
    async run(args) {
      const { positionals } = parse(args, {}, true);
      if (positionals.length !== 1) throw new UsageError('pubkey needs exactly one FILE');
      const identity = await Identity.load(positionals[0]!);
      process.stdout.write(`${identity.id}\n`);
      process.stderr.write(`fingerprint ${identity.fingerprint}\n`);
      return 0;
    },
  },
  grant: {
    summary: "sign a grant: let a key connect until a time, without editing servers' lists",
    usage: [
      'usage: rxchan grant --admin FILE --key KEY --until TIME --name NAME',
      '',
      'Signs, with the admin identity in FILE, a grant letting KEY (base64url) connect until TIME',
      '(ISO 8601, e.g. 2030-01-01T00:00:00Z) to servers whose authorized keys have the line',
      '"@admin <admin key> <name>". Prints the grant (base64url), for the holder of KEY to pass as the',
      '`grant` option of dialTls.',
      '',
      '  -a, --admin FILE   the admin key file',
      '  -k, --key KEY      the public key allowed to connect',
      '  -u, --until TIME   when the grant ends',
      '  -n, --name NAME    how servers will name the key (at most 64 bytes)',
    ].join('\n'),
    async run(args) {
      const { values } = parse(args, {
        admin: { type: 'string', short: 'a' },
        key: { type: 'string', short: 'k' },
        until: { type: 'string', short: 'u' },
        name: { type: 'string', short: 'n' },
      });
      const { admin, key, until, name } = values;
      if (
        typeof admin !== 'string' ||
        typeof key !== 'string' ||
        typeof until !== 'string' ||
        typeof name !== 'string'
      ) {
        throw new UsageError('grant needs --admin, --key, --until and --name');
      }
      const notAfter = new Date(until);
      if (Number.isNaN(notAfter.getTime()))
        throw new UsageError(`--until ${JSON.stringify(until)} is not a date`);
      const signer = await Identity.load(admin);
      const grant = signGrant(signer, { subject: key, notAfter, name });
      process.stdout.write(`${Buffer.from(grant).toString('base64url')}\n`);
      process.stderr.write(`granted ${name} until ${notAfter.toISOString()} (admin ${signer.fingerprint})\n`);
      return 0;
    },
  },
  ping,
  list,
  call,
  help: {
    summary: 'show help for rxchan or for one command',
    usage: 'usage: rxchan help [COMMAND]',
    async run(args) {
      const name = args[0];
      if (name === undefined) {
        process.stdout.write(`${overview()}\n`);
        return 0;
      }
      const command = commands[name];
      if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
      process.stdout.write(`${command.usage}\n`);
      return 0;
    },
  },
};

/** How long the process may linger after its command ended, ms. */
const EXIT_GRACE_MS = 2_000;

function overview(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: rxchan COMMAND [OPTIONS]',
    '',
    'commands:',
    ...lines,
    '',
    'rxchan COMMAND --help shows the options of a command; rxchan --version prints the version.',
  ].join('\n');
}

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(`${overview()}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`rxchan: unknown command ${JSON.stringify(name)}\n\n${overview()}\n`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`rxchan ${name}: ${err.message}\n\n${command.usage}\n`);
      return EXIT_USAGE;
    }
    const message = isAuthError(err)
      ? `${(err as AuthError).message} [${(err as AuthError).code}]`
      : String((err as Error)?.message ?? err);
    process.stderr.write(`rxchan ${name}: ${message}\n`);
    return 1;
  }
}

const status = await main(process.argv.slice(2));
process.exitCode = status;
// Everything the command opened is closed by now; should anything still hold the event loop, do not
// hang a shell on it. (Exiting at once could cut stdout written to a pipe.)
setTimeout(() => process.exit(status), EXIT_GRACE_MS).unref();
