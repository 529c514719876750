/**
 * A small actor server run as a child process by the fault specs, so they can SIGKILL it and start it
 * again on the same port with the same identity.
 *
 * Environment: FAULT_SEED (64 hex digits: the server's identity seed), FAULT_CLIENT_KEY (the key id
 * allowed to connect, named 'client'), FAULT_PORT (0 for any free port). Prints `READY <port> <pid>`
 * once listening. Exits when its stdin closes, so it never outlives the spec that started it.
 *
 * Actor 'slow' (concurrency 64): ping() -> 'pong'; pid() -> its process id; hold(ms) waits that long
 * (aborted with the call); active() -> holds in progress; ticks(periodMs) -> an endless Observable.
 */
import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { interval, type Observable } from 'rxjs';
import { ActorSystem, actor, callContext } from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';

let holding = 0;

@actor('slow', { concurrency: 64 })
export class Slow {
  ping(): string {
    return 'pong';
  }
  pid(): number {
    return process.pid;
  }
  active(): number {
    return holding;
  }
  async hold(ms: number): Promise<string> {
    const ctx = callContext();
    holding++;
    try {
      await sleep(ms, undefined, { signal: ctx.signal });
      return 'held';
    } finally {
      holding--;
    }
  }
  ticks(periodMs: number): Observable<number> {
    return interval(periodMs);
  }
}

async function main(): Promise<void> {
  const seed = Buffer.from(process.env.FAULT_SEED ?? '', 'hex');
  const clientKey = process.env.FAULT_CLIENT_KEY;
  if (seed.length !== 32 || !clientKey)
    throw new Error('FAULT_SEED (64 hex) and FAULT_CLIENT_KEY are required');
  const server = new ActorSystem({
    identity: Identity.fromSeed(seed),
    authorizedKeys: [{ key: clientKey, name: 'client' }],
    config: { closeTimeoutMs: 200 },
  });
  await server.register(Slow);
  const { port } = await server.listen({ port: Number(process.env.FAULT_PORT ?? 0) });
  process.stdout.write(`READY ${port} ${process.pid}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void server.close().finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`fault-server: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
