/**
 * Starting and stopping the cluster example's node processes (node.ts), and reading what they print:
 * used by the example's main.ts, by the cluster's process specs and by its bench.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Identity, signGrant } from '../../src/index.js';

export interface NodeOptions {
  /** A short name for logs and replies. */
  readonly name: string;
  /** The PostgreSQL connection string this node uses. */
  readonly url: string;
  readonly schema: string;
  /** The cluster admin, who signs the node's grant. */
  readonly admin: Identity;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  /** How long a counter stays active without calls; default node.ts's. */
  readonly idleMs?: number;
  /** How long to wait for its ready line, ms (default 20000). */
  readonly readyTimeoutMs?: number;
}

/** A line a node printed, with its node's name and when this process read it. */
export type NodeEvent =
  | { readonly node: string; readonly activated: { key: string; at: number } }
  | { readonly node: string; readonly passivated: { key: string; at: number } }
  | { readonly node: string; readonly lease: 'valid' | 'fenced'; readonly at: number };

export interface NodeProcess {
  readonly name: string;
  readonly keyId: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Every activation, passivation and lease change it printed so far. */
  readonly events: NodeEvent[];
  /** When it was killed (`Date.now()`), if `kill` was called. */
  killedAt: number | undefined;
}

/** A grant for `id` from `admin`, valid for an hour. */
export function grantFor(admin: Identity, id: Identity): Uint8Array {
  return signGrant(admin, {
    subject: id.publicKey,
    notAfter: new Date(Date.now() + 3_600_000),
    name: 'node',
  });
}

/**
 * Starts node.ts as a process with a fresh identity and waits for its ready line. Rejects when it
 * exits first or is not ready in time (then it is killed).
 */
export async function startNode(o: NodeOptions): Promise<NodeProcess> {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const identity = Identity.fromSeed(seed);
  const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'node.js')], {
    env: {
      ...process.env,
      RXCHAN_DATABASE_URL: o.url,
      RXCHAN_SCHEMA: o.schema,
      RXCHAN_ADMIN_KEY: o.admin.id,
      RXCHAN_NODE_SEED: Buffer.from(seed).toString('base64url'),
      RXCHAN_GRANT: Buffer.from(grantFor(o.admin, identity)).toString('base64url'),
      RXCHAN_NODE_NAME: o.name,
      RXCHAN_LEASE_MS: String(o.leaseMs),
      RXCHAN_HEARTBEAT_MS: String(o.heartbeatMs),
      ...(o.idleMs !== undefined ? { RXCHAN_IDLE_MS: String(o.idleMs) } : {}),
    },
    // stdin: a pipe this process holds, so that the node ends when this process does (node.ts).
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events: NodeEvent[] = [];
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<{ keyId: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${o.name} not ready in ${o.readyTimeoutMs ?? 20_000} ms`));
    }, o.readyTimeoutMs ?? 20_000);
    lines.on('line', (line) => {
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.ready) {
        clearTimeout(timer);
        resolve(event.ready as { keyId: string; port: number });
      } else {
        events.push({ node: o.name, ...event } as NodeEvent);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node ${o.name} exited (${code ?? signal}) before it was ready`));
    });
  });
  const { keyId, port } = await ready;
  return { name: o.name, keyId, port, child, events, killedAt: undefined };
}

/** `kill -9`: the node gets no chance to leave or release anything. */
export function killNode(n: NodeProcess): void {
  n.killedAt = Date.now();
  n.child.kill('SIGKILL');
}

/** SIGTERM (the node leaves the cluster) unless it already exited; SIGKILL after 10 s. */
export async function stopNode(n: NodeProcess): Promise<void> {
  if (n.child.exitCode !== null || n.child.signalCode !== null) return;
  const exited = once(n.child, 'exit');
  n.child.kill('SIGTERM');
  const timer = setTimeout(() => n.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** An activation of a key on a node: from its `activated` line to its `passivated` line, its kill, or `end`. */
export interface ActiveSpan {
  readonly node: string;
  readonly key: string;
  readonly from: number;
  readonly to: number;
}

/** Every activation span of `nodes`, open ones closed at their node's kill or at `end`. */
export function activeSpans(nodes: readonly NodeProcess[], end = Date.now()): ActiveSpan[] {
  const spans: ActiveSpan[] = [];
  for (const n of nodes) {
    const open = new Map<string, number>();
    for (const e of n.events) {
      if ('activated' in e) open.set(e.activated.key, e.activated.at);
      else if ('passivated' in e && open.has(e.passivated.key)) {
        spans.push({
          node: n.name,
          key: e.passivated.key,
          from: open.get(e.passivated.key)!,
          to: e.passivated.at,
        });
        open.delete(e.passivated.key);
      }
    }
    for (const [key, from] of open) spans.push({ node: n.name, key, from, to: n.killedAt ?? end });
  }
  return spans;
}

/** Pairs of spans of one key on two nodes that overlap in time: double activations. */
export function overlaps(spans: readonly ActiveSpan[]): [ActiveSpan, ActiveSpan][] {
  const out: [ActiveSpan, ActiveSpan][] = [];
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length; j++) {
      const a = spans[i]!;
      const b = spans[j]!;
      if (a.key === b.key && a.node !== b.node && a.from < b.to && b.from < a.to) out.push([a, b]);
    }
  }
  return out;
}
