/**
 * `rxchan list`: what a server offers the caller, from the reflection actor's `list()`: a table, or
 * the reply as JSON.
 */
import type { ReflectedActor } from '../actors/callee/reflection.js';
import { type Command, intOption, parse, UsageError } from './command.js';
import { reportCallError } from './exit-codes.js';
import { stringify } from './json.js';
import { CONNECT_USAGE, loadIdentity, parseAddress } from './options.js';

export const list: Command = {
  summary: 'list the actors and methods a server lets you call, with their kinds',
  usage: [
    'usage: rxchan list HOST:PORT --key SERVERKEY [--id KEYFILE] [--json] [--timeout MS]',
    '',
    'Asks the built-in reflection actor (rxchan.reflection.list) which actors and methods your key',
    "may call (the server's `allow` lists decide) and prints one line per method: actor, method,",
    'kind (unary: one value; stream: items; unknown: the server does not say).',
    '',
    ...CONNECT_USAGE,
    '      --json           print the reply as one line of JSON: [{"actor","methods":[{"name","kind"}]}]',
    '      --timeout MS     deadline of the call (default 5000)',
    '',
    'Exit: 0, or the code of the failed call (see `rxchan help call`).',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parse(
      args,
      {
        key: { type: 'string', short: 'k' },
        id: { type: 'string' },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('list needs exactly one HOST:PORT');
    const address = parseAddress(positionals[0]);
    if (values.key === undefined) throw new UsageError('list needs --key SERVERKEY');
    const timeoutMs = intOption(values.timeout, '--timeout', 5000);
    const identity = await loadIdentity(values.id);
    const { connect, reflection } = await import('./client.js');
    const client = connect(address, identity, values.key);
    try {
      const reply = await reflection(client, { timeoutMs }).list();
      process.stdout.write(`${values.json ? stringify(reply) : table(reply)}\n`);
      return 0;
    } catch (err) {
      return reportCallError(err);
    } finally {
      await client.close();
    }
  },
};

/** Columns ACTOR, METHOD, KIND, padded; just the header when there is nothing. */
function table(actors: readonly ReflectedActor[]): string {
  const rows = [['ACTOR', 'METHOD', 'KIND']];
  for (const a of actors) for (const m of a.methods) rows.push([a.actor, m.name, m.kind]);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`).join('\n');
}
