/**
 * Helpers for the cluster-ref specs: one cluster admin key, grants it signs, nodes (actor systems over
 * TLS on 127.0.0.1 that host given actors and join a membership) and cluster clients.
 */
import 'reflect-metadata';
import type { ActorClass } from '../../src/actors/callee/cell.js';
import type { ActorOptions } from '../../src/actors/decorators.js';
import { ActorSystem, type ActorSystemOptions, type ClusterOptions } from '../../src/actors/system.js';
import { signGrant } from '../../src/auth/grant.js';
import { Identity } from '../../src/auth/identity.js';
import type { MemberInfo } from '../../src/cluster/member.js';
import type { Membership } from '../../src/cluster/membership.js';
import { staticMembership } from '../../src/cluster/static.js';
import type { RefusedReason } from '../../src/transport/connection/index.js';

export const admin = Identity.generate();
const hour = () => new Date(Date.now() + 3_600_000);
/** A grant for `id`'s key, signed by `by` (the cluster admin unless told), valid for an hour. */
export const grantOf = (id: Identity, by = admin) =>
  signGrant(by, { subject: id.publicKey, notAfter: hour(), name: 'node' });
export const trustAdmin = [{ key: admin.id, name: 'admin', admin: true }];

export interface NodeOptions {
  /** Its grant; undefined: none (the node is in no cluster and does not join). */
  grant: Uint8Array | undefined;
  identity?: Identity;
  /** Default: a static membership of its own, with no other member. */
  membership?: Membership;
  /** More of `ClusterOptions` (load, loadIntervalMs). */
  cluster?: Partial<ClusterOptions>;
  config?: ActorSystemOptions['config'];
  /** Join after registering (default true when it has a grant). */
  join?: boolean;
}

export interface Node {
  readonly system: ActorSystem;
  /** The membership row that names it. */
  readonly row: MemberInfo;
  /** Its listener's refusals. */
  readonly refused: RefusedReason[];
  readonly identity: Identity;
  readonly membership: Membership;
}

/** A node hosting `actors` (name: class, or [class, options]), listening on TLS; added to `systems` (closed by the spec). */
export async function startNode(
  systems: ActorSystem[],
  actors: Record<string, ActorClass | readonly [ActorClass, ActorOptions]>,
  options: NodeOptions,
): Promise<Node> {
  const identity = options.identity ?? Identity.generate();
  const refused: RefusedReason[] = [];
  const membership = options.membership ?? staticMembership([]);
  const { grant } = options;
  const system = new ActorSystem({
    identity,
    authorizedKeys: trustAdmin,
    config: { reconnectBaseMs: 50, ...options.config },
    ...(grant ? { cluster: { membership, adminKey: admin.id, grant, ...options.cluster } } : {}),
  });
  systems.push(system);
  for (const [name, a] of Object.entries(actors)) {
    if (Array.isArray(a)) await system.register(name, a[0], a[1]);
    else await system.register(name, a as ActorClass);
  }
  const { host, port } = await system.listen({ onRefused: (e) => refused.push(e.reason) });
  if (grant && options.join !== false) await system.joinCluster();
  const row: MemberInfo = {
    keyId: identity.id,
    addresses: { tls: { host, port } },
    actors: Object.keys(actors),
    load: 0,
  };
  return { system, row, refused, identity, membership };
}

/** A system in the cluster of `membership` (a static one of `rows` when given rows) that hosts nothing. */
export function clusterClient(
  systems: ActorSystem[],
  membership: MemberInfo[] | Membership,
  config: ActorSystemOptions['config'] = {},
): ActorSystem {
  const identity = Identity.generate();
  const system = new ActorSystem({
    identity,
    config: { reconnectBaseMs: 50, ...config },
    cluster: {
      membership: Array.isArray(membership) ? staticMembership(membership) : membership,
      adminKey: admin.id,
      grant: grantOf(identity),
    },
  });
  systems.push(system);
  return system;
}

/** `n` answers of `call`, one after the other. */
export async function answers(call: () => PromiseLike<unknown>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await call()) as string);
  return out;
}

/** The actor most cluster specs host: it answers who it is. */
export interface Calc {
  whoami(): string;
}

/** A `Calc` class whose instances answer `tag`. */
export function calcNamed(tag: string) {
  return class {
    whoami(): string {
      return tag;
    }
  };
}

/**
 * Three nodes tagged a, b and c, each hosting `calc` and the keyed `kcalc` (both answering the tag),
 * each with a membership of its own from `membership()` (over one store), started in that order.
 */
export async function threeNodes(systems: ActorSystem[], membership: () => Membership): Promise<Node[]> {
  const nodes: Node[] = [];
  for (const tag of ['a', 'b', 'c']) {
    const identity = Identity.generate();
    nodes.push(
      await startNode(
        systems,
        { calc: calcNamed(tag), kcalc: [calcNamed(tag), { keyed: true }] },
        { grant: grantOf(identity), identity, membership: membership() },
      ),
    );
  }
  return nodes;
}
