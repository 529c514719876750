/**
 * One node of the cluster example, as a process of its own: it hosts the keyed `counter` (one
 * activation per key across the cluster, its count saved in PostgreSQL) and the stateless `echo`, over
 * mutual TLS on 127.0.0.1, in the cluster whose membership, placement and state are in PostgreSQL.
 * examples/cluster/main.ts starts three of these; so do the cluster's process specs and its bench.
 *
 * Configured by its environment (every variable is required unless a default is given):
 * - `RXCHAN_DATABASE_URL`: the PostgreSQL connection string.
 * - `RXCHAN_SCHEMA`: the cluster's schema (default `rxchan`).
 * - `RXCHAN_ADMIN_KEY`: the cluster admin's public key (base64url).
 * - `RXCHAN_NODE_SEED`: this node's 32-byte identity seed, base64url (an example's shortcut: a real
 *   node keeps its key in a key file, `Identity.load`).
 * - `RXCHAN_GRANT`: this node's grant from the admin, base64url.
 * - `RXCHAN_NODE_NAME`: a name for the logs and replies (default: the first 8 characters of its key id).
 * - `RXCHAN_LEASE_MS`, `RXCHAN_HEARTBEAT_MS`: the membership lease and heartbeat (defaults 3000, 500).
 * - `RXCHAN_IDLE_MS`: how long a counter stays active without calls (default 60000).
 *
 * On stdout, one JSON object per line: `{"ready":{"keyId","port"}}` once it has joined; then
 * `{"activated":{"key","at"}}` and `{"passivated":{"key","at"}}` (`at`: `Date.now()`), which the
 * process specs use to check that no key was active on two nodes at once; `{"lease":"valid"|"fenced",
 * "at"}` on each change. On SIGTERM, or when its stdin ends (the process that started it has ended),
 * it leaves the cluster and exits 0.
 */
import 'reflect-metadata';
import { inject } from 'tsyringe';
import {
  ACTOR_KEY,
  ACTOR_STATE,
  type ActorLifecycle,
  type ActorState,
  ActorSystem,
  actor,
  Identity,
  postgresMembership,
} from '../../src/index.js';

/** Where the node's name is registered for its actors. */
export const NODE_NAME = 'example.nodeName';

/** One line on stdout, for whoever started this process. */
function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

export interface CountReply {
  readonly n: number;
  readonly node: string;
}

@actor('counter', { keyed: true, state: true, idleMs: Number(process.env.RXCHAN_IDLE_MS ?? 60_000) })
export class Counter implements ActorLifecycle {
  constructor(
    @inject(ACTOR_KEY) private readonly key: string,
    @inject(ACTOR_STATE) private readonly state: ActorState<{ n: number }>,
    @inject(NODE_NAME) private readonly node: string,
  ) {}

  onStart(): void {
    emit({ activated: { key: this.key, at: Date.now() } });
  }

  onStop(): void {
    emit({ passivated: { key: this.key, at: Date.now() } });
  }

  /** Adds `by` and saves the count before answering: an answered add is durable. */
  async add(by: number): Promise<CountReply> {
    const n = (this.state.value?.n ?? 0) + by;
    this.state.value = { n };
    await this.state.save();
    return { n, node: this.node };
  }

  get(): CountReply {
    return { n: this.state.value?.n ?? 0, node: this.node };
  }
}

@actor('echo')
export class Echo {
  constructor(
    @inject(NODE_NAME) private readonly node: string,
    @inject(ActorSystem) private readonly system: ActorSystem,
  ) {}

  whoami(): string {
    return this.node;
  }

  /** Adds to a counter through this node: the call finds the counter's node through the cluster. */
  relay(key: string, by: number): Promise<CountReply> {
    return this.system.ref<Counter>('counter', key).add(by);
  }
}

function env(name: string, fallback?: string): string {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
}

async function main(): Promise<void> {
  const identity = Identity.fromSeed(Buffer.from(env('RXCHAN_NODE_SEED'), 'base64url'));
  const adminKey = env('RXCHAN_ADMIN_KEY');
  const name = env('RXCHAN_NODE_NAME', identity.id.slice(0, 8));
  const membership = postgresMembership({
    connection: env('RXCHAN_DATABASE_URL'),
    schema: env('RXCHAN_SCHEMA', 'rxchan'),
    config: {
      leaseMs: Number(env('RXCHAN_LEASE_MS', '3000')),
      heartbeatMs: Number(env('RXCHAN_HEARTBEAT_MS', '500')),
    },
    onError: (err) => console.error(`${name}: membership: ${(err as Error).message}`),
  });
  const system = new ActorSystem({
    identity,
    authorizedKeys: [{ key: adminKey, name: 'admin', admin: true }],
    cluster: { membership, adminKey, grant: Buffer.from(env('RXCHAN_GRANT'), 'base64url') },
    onError: (err) => console.error(`${name}: ${(err as Error).message}`),
  });
  system.container.register(NODE_NAME, { useValue: name });
  membership.placement?.lease$.subscribe((lease) => emit({ lease, at: Date.now() }));
  await system.register(Counter);
  await system.register(Echo);
  const { port } = await system.listen({ host: '127.0.0.1', port: 0 });
  await system.joinCluster();
  emit({ ready: { keyId: identity.id, port } });
  let leaving = false;
  const leave = () => {
    if (leaving) return;
    leaving = true;
    system.close().then(
      () => process.exit(0),
      (err) => {
        console.error(`${name}: close: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', leave);
  // Whoever started this node holds its stdin: when that process ends, however it ends, so does the node.
  process.stdin.once('end', leave);
  process.stdin.resume();
}

main().catch((err) => {
  console.error(`node: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
