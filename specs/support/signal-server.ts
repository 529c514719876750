/**
 * An actor server run as a child process by specs/integration/actors-signals.spec.ts, so the spec can
 * send it real signals: it wires them with `closeOnSignals` and nothing else.
 *
 * Environment:
 * - SIGNAL_SEED: 64 hex digits, the server's identity seed;
 * - SIGNAL_CLIENT_KEY: the key id allowed to connect (named 'client');
 * - SIGNAL_CLOSE_TIMEOUT_MS: the system's closeTimeoutMs;
 * - SIGNAL_TIMEOUT_MS: closeOnSignals' timeoutMs (unset: its default);
 * - SIGNAL_MODE: 'serve' (default) listens on a free port; 'hang' listens too, and its actor's onStop
 *   never ends; 'idle' neither listens nor reads stdin: with nothing else to do, the process must end
 *   on its own.
 *
 * Prints, one per line: `READY <port>` once serving (`READY 0` for 'idle'); `got <SIGNAL>` for each
 * signal; `start <ms>` and `end <ms>` around each `hold(ms)`; `stopped` when the actor's onStop has
 * run; `exit <code>` as the process exits. A serving process exits with code 2 when its stdin closes,
 * so it never outlives the spec.
 */
import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActorSystem, actor, closeOnSignals } from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';

const mode = process.env.SIGNAL_MODE ?? 'serve';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

@actor('work', { concurrency: 16 })
export class Work {
  ping(): string {
    return 'pong';
  }
  /** Waits `ms`, ignoring its signal. */
  async hold(ms: number): Promise<string> {
    say(`start ${ms}`);
    await sleep(ms);
    say(`end ${ms}`);
    return 'held';
  }
  async onStop(): Promise<void> {
    if (mode === 'hang') {
      // Never ends, and keeps the event loop busy meanwhile: only closeOnSignals' timeoutMs ends it.
      await new Promise<void>(() => setInterval(() => {}, 1_000));
    }
    say('stopped');
  }
}

async function main(): Promise<void> {
  const seed = Buffer.from(process.env.SIGNAL_SEED ?? '', 'hex');
  const clientKey = process.env.SIGNAL_CLIENT_KEY;
  if (seed.length !== 32 || !clientKey)
    throw new Error('SIGNAL_SEED (64 hex) and SIGNAL_CLIENT_KEY are required');
  const timeout = process.env.SIGNAL_TIMEOUT_MS;
  const server = new ActorSystem({
    identity: Identity.fromSeed(seed),
    authorizedKeys: [{ key: clientKey, name: 'client' }],
    config: { closeTimeoutMs: Number(process.env.SIGNAL_CLOSE_TIMEOUT_MS ?? 5_000) },
  });
  process.on('exit', (code) => say(`exit ${code}`));
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => say(`got ${s}`));
  await server.register(Work);
  closeOnSignals(server, timeout === undefined ? {} : { timeoutMs: Number(timeout) });
  if (mode === 'idle') {
    say('READY 0');
    return;
  }
  const { port } = await server.listen({ port: 0 });
  say(`READY ${port}`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(2));
}

main().catch((err: unknown) => {
  process.stderr.write(`signal-server: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
