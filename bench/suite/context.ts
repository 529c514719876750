/**
 * What every scenario of the suite benchmark needs on the client side: throwaway keys and certificates,
 * child peers serving one system each (always stopped, also on failure), and rxchan clients.
 */
import { randomBytes } from 'node:crypto';
// makeCertificate is internal to the library; the raw and gRPC servers need the same kind of certificate.
import { type CertificateMaterial, makeCertificate } from '../../src/auth/index.js';
import { ActorSystem, Identity, type Ref } from '../../src/index.js';
import { type SuiteCaller, type SuitePeer, spawnSuiteCaller, spawnSuitePeer } from '../lib/suite-child.js';
import type { Bench } from './actor.js';
import { type CallerSpec, type Layer, type PeerSpec, type System, streamLimits } from './spec.js';

/** The keys of one suite run: the server's identity (as a seed, for the child) and the client's. */
export interface Keys {
  readonly serverSeed: Buffer;
  /** The client identity's seed (client children rebuild the identity from it). */
  readonly clientSeed: Buffer;
  readonly server: Identity;
  readonly client: Identity;
  /** ed25519 self-signed certificates made from those identities, as rxchan makes its own. */
  readonly serverCert: CertificateMaterial;
  readonly clientCert: CertificateMaterial;
}

export async function makeKeys(): Promise<Keys> {
  const serverSeed = randomBytes(32);
  const server = Identity.fromSeed(serverSeed);
  const clientSeed = randomBytes(32);
  const client = Identity.fromSeed(clientSeed);
  return {
    serverSeed,
    clientSeed,
    server,
    client,
    serverCert: await makeCertificate(server),
    clientCert: await makeCertificate(client),
  };
}

/** Fork a child serving `system`; `streams` > 0 raises rxchan's limits for scenario 6. */
export function spawnSystem(
  system: System,
  keys: Keys,
  streams = 0,
  intercepted?: boolean,
): Promise<SuitePeer> {
  const spec: PeerSpec = {
    serverSeed: keys.serverSeed.toString('hex'),
    clientId: keys.client.id,
    serverCertPem: keys.serverCert.certPem,
    serverKeyPem: keys.serverCert.keyPem,
    clientCertPem: keys.clientCert.certPem,
    streams,
    intercepted,
  };
  return spawnSuitePeer(new URL('./peer.js', import.meta.url), [system, JSON.stringify(spec)]);
}

/**
 * Run `body` with a child per system in `systems`, spawned one after another; every child that was
 * spawned is stopped afterwards, whether `body` (or a later spawn) failed or not.
 */
export async function withPeers<T>(
  keys: Keys,
  systems: readonly System[],
  body: (peers: Partial<Record<System, SuitePeer>>) => Promise<T>,
  streams = 0,
): Promise<T> {
  const peers: Partial<Record<System, SuitePeer>> = {};
  try {
    for (const s of systems) peers[s] = await spawnSystem(s, keys, streams);
    return await body(peers);
  } finally {
    await Promise.all(Object.values(peers).map((p) => p.stop()));
  }
}

/** An rxchan client node and a ref to the peer's `bench` actor; close the node when done. */
export function rxchanClient(
  keys: Keys,
  port: number,
  streams = 0,
): { system: ActorSystem; bench: Ref<Bench> } {
  const system = new ActorSystem({ identity: keys.client, ...(streams > 0 ? streamLimits(streams) : {}) });
  const bench = system.ref<Bench>('bench', { host: '127.0.0.1', port, key: keys.server.id });
  return { system, bench };
}

/** The port a peer reported under `name`; throws if it has none (a wiring bug). */
export function portOf(peer: SuitePeer | undefined, name: string): number {
  const port = peer?.ports[name];
  if (port === undefined) throw new Error(`suite peer has no ${name} port`);
  return port;
}

/**
 * Fork a client child (./caller.ts) of `system` (a suite system or a layer) for the server on `port`,
 * keeping `inFlight` calls in flight when asked for in-flight measures.
 */
export function spawnCaller(
  keys: Keys,
  system: System | Layer,
  port: number,
  inFlight: number,
  intercepted?: boolean,
): Promise<SuiteCaller> {
  const spec: CallerSpec = {
    port,
    clientSeed: keys.clientSeed.toString('hex'),
    serverId: keys.server.id,
    clientCertPem: keys.clientCert.certPem,
    clientKeyPem: keys.clientCert.keyPem,
    serverCertPem: keys.serverCert.certPem,
    inFlight,
    intercepted,
  };
  return spawnSuiteCaller(new URL('./caller.js', import.meta.url), [system, JSON.stringify(spec)]);
}
