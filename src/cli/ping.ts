/**
 * `rxchan ping`: like ping(8), for an rxchan server. Connects with the caller's identity, shows the
 * server's key (verified against `--key`, or only seen) and version, then times `count` round trips of
 * the reflection actor's `ping()`.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, intOption, parse, UsageError } from './command.js';
import { EXIT_INTERRUPTED, reportCallError } from './exit-codes.js';
import { CONNECT_USAGE, loadIdentity, parseAddress } from './options.js';

export const ping: Command = {
  summary: 'time round trips to a server and show its key and version',
  usage: [
    'usage: rxchan ping HOST:PORT [--key SERVERKEY] [--id KEYFILE] [-c COUNT] [-i MS] [--timeout MS]',
    '',
    "Connects over TLS 1.3 with your identity, prints the server's key and rxchan version, then calls",
    'the built-in reflection actor (rxchan.reflection.ping) COUNT times and prints each round-trip time',
    'and a summary. Without --key the key is the one the server presented, NOT verified (your',
    'certificate went to whoever answered): check it, then pin it with --key. Ctrl-C stops early.',
    '',
    ...CONNECT_USAGE,
    '  -c, --count COUNT    round trips to time (default 3)',
    '  -i, --interval MS    wait between them (default 1000)',
    '      --timeout MS     deadline of each call (default 5000)',
    '',
    'Exit: 0 when every ping was answered (or Ctrl-C after one was; before: 130); a failed call exits',
    'with its code (see `rxchan help call`).',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parse(
      args,
      {
        key: { type: 'string', short: 'k' },
        id: { type: 'string' },
        count: { type: 'string', short: 'c' },
        interval: { type: 'string', short: 'i' },
        timeout: { type: 'string' },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('ping needs exactly one HOST:PORT');
    const address = parseAddress(positionals[0]);
    const count = intOption(values.count, '--count', 3);
    const interval = intOption(values.interval, '--interval', 1000, 0);
    const timeoutMs = intOption(values.timeout, '--timeout', 5000);
    const identity = await loadIdentity(values.id);
    const { connect, reflection } = await import('./client.js');
    const client = connect(address, identity, values.key);
    const where = `${positionals[0]}`;
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const times: number[] = [];
    try {
      const ref = reflection(client, { timeoutMs, signal: stop.signal });
      // The first call dials: it is the connection, not a sample.
      const started = performance.now();
      const hello = await ref.ping();
      const first = performance.now() - started;
      const { key, handshakeMs } = client.seen;
      out(`PING ${where}: connected in ${ms(handshakeMs ?? first)} ms, first call in ${ms(first)} ms`);
      out(
        client.pinned
          ? `server key ${key} (verified: it matches --key)`
          : `server key ${key} (NOT verified: seen in the handshake; pin it with --key)`,
      );
      out(`server rxchan ${hello.version}, clock ${new Date(hello.time).toISOString()}`);
      for (let seq = 1; seq <= count && !stop.signal.aborted; seq++) {
        if (seq > 1 && interval > 0)
          await sleep(interval, undefined, { signal: stop.signal }).catch(() => {});
        if (stop.signal.aborted) break;
        const t0 = performance.now();
        await ref.ping();
        const rtt = performance.now() - t0;
        times.push(rtt);
        out(`reply from ${where}: seq=${seq} time=${ms(rtt)} ms`);
      }
      return 0;
    } catch (err) {
      if (stop.signal.aborted) return times.length > 0 ? 0 : EXIT_INTERRUPTED;
      return reportCallError(err);
    } finally {
      process.off('SIGINT', onSignal);
      if (times.length > 0) {
        const min = Math.min(...times);
        const max = Math.max(...times);
        const avg = times.reduce((a, b) => a + b, 0) / times.length;
        out(`--- ${where} rxchan ping statistics ---`);
        out(`${times.length} replies, rtt min/avg/max = ${ms(min)}/${ms(avg)}/${ms(max)} ms`);
      }
      await client.close();
    }
  },
};

function ms(n: number): string {
  return n.toFixed(3);
}
