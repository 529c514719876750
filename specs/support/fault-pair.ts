/**
 * Two actor systems over real mutual TLS 1.3 on 127.0.0.1 for fault specs, holding on to both ends of
 * every connection so a spec can kill either side's socket the way a dying process would (no GoAway, no
 * FIN on the streams: the socket is destroyed). The server listens through `listenTls` itself and hands
 * each connection to `server.serve()`; the client dials through a `dial` option that keeps each
 * connection. Optionally through a {@link FaultProxy}.
 */
import 'reflect-metadata';
import { ActorSystem, type ActorSystemOptions, type HostPeer } from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';
import { type Connection, dialTls, type Listener, listenTls } from '../../src/transport/connection/index.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

export interface FaultPair {
  readonly server: ActorSystem;
  readonly client: ActorSystem;
  readonly peer: HostPeer;
  readonly serverId: Identity;
  /** The client's identity; the server authorizes it (under the name 'client'). */
  readonly clientId: Identity;
  /** The server's end of each connection it accepted, in order. */
  readonly serverConnections: Connection[];
  /** The client's end of each connection it dialled, in order. */
  readonly clientConnections: Connection[];
  readonly proxy: FaultProxy | undefined;
  close(): Promise<void>;
}

export interface FaultPairOptions {
  server?: Partial<ActorSystemOptions>;
  client?: Partial<ActorSystemOptions>;
  proxy?: boolean;
}

export async function faultPair(options: FaultPairOptions = {}): Promise<FaultPair> {
  const serverId = Identity.generate();
  const clientId = Identity.generate();
  const report = (e: unknown) => {
    throw e;
  };
  const server = new ActorSystem({
    onError: report,
    ...options.server,
    config: { closeTimeoutMs: 300, ...options.server?.config },
  });
  const serverConnections: Connection[] = [];
  const listener: Listener = await listenTls(
    { identity: serverId, authorizedKeys: [{ key: clientId.id, name: 'client' }] },
    (c) => {
      serverConnections.push(c);
      server.serve(c);
    },
  );
  const proxy = options.proxy ? await startFaultProxy(listener.port) : undefined;
  const clientConnections: Connection[] = [];
  const client = new ActorSystem({
    onError: report,
    ...options.client,
    config: { closeTimeoutMs: 300, ...options.client?.config },
    dial: async (p) => {
      const c = await dialTls({ identity: clientId, host: p.host!, port: p.port!, serverKey: serverId.id });
      clientConnections.push(c);
      return c;
    },
  });
  return {
    server,
    client,
    peer: { host: '127.0.0.1', port: proxy?.port ?? listener.port, key: serverId.id },
    serverId,
    clientId,
    serverConnections,
    clientConnections,
    proxy,
    async close() {
      await client.close();
      await listener.close({ destroyConnections: true });
      await server.close();
      await proxy?.close();
    },
  };
}
