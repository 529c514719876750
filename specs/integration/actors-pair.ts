/**
 * Two actor systems over real TLS 1.3 on 127.0.0.1, with fresh identities that authorize each other:
 * the server knows the client's key under the name 'alice' (and an extra 'ops' identity), the client
 * pins the server's key. Optionally through a TCP proxy, so a spec can cut the connection.
 */
import 'reflect-metadata';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ActorSystem,
  type ActorSystemOptions,
  type HostPeer,
  type ListenOptions,
} from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';

export interface Pair {
  server: ActorSystem;
  client: ActorSystem;
  serverId: Identity;
  clientId: Identity;
  /** A second client identity, authorized under the name 'ops'. */
  opsId: Identity;
  peer: HostPeer;
  /** The proxy between them, when asked for. */
  proxy: Proxy | undefined;
  /** A further client system with the 'ops' identity (closed with the pair). */
  opsClient(): ActorSystem;
  close(): Promise<void>;
}

export interface PairOptions {
  server?: Partial<ActorSystemOptions>;
  client?: Partial<ActorSystemOptions>;
  /** Passed to the server's `listen()`. */
  listen?: ListenOptions;
  proxy?: boolean;
}

const quiet = { closeTimeoutMs: 300 };

export async function pair(options: PairOptions = {}): Promise<Pair> {
  const serverId = Identity.generate();
  const clientId = Identity.generate();
  const opsId = Identity.generate();
  // A report nobody expects fails the spec; a masked handler error (reported with its id) is expected.
  const errors = (e: unknown, info?: { errorId: string }) => {
    if (info === undefined) throw e;
  };
  const server = new ActorSystem({
    identity: serverId,
    authorizedKeys: [
      { key: clientId.id, name: 'alice' },
      { key: opsId.id, name: 'ops' },
    ],
    onError: errors,
    ...options.server,
    config: { ...quiet, ...options.server?.config },
  });
  const { port } = await server.listen(options.listen);
  const proxy = options.proxy ? await startProxy(port) : undefined;
  const peer: HostPeer = { host: '127.0.0.1', port: proxy?.port ?? port, key: serverId.id };
  const client = new ActorSystem({
    identity: clientId,
    onError: errors,
    ...options.client,
    config: { ...quiet, ...options.client?.config },
  });
  const extra: ActorSystem[] = [];
  return {
    server,
    client,
    serverId,
    clientId,
    opsId,
    peer,
    proxy,
    opsClient() {
      const s = new ActorSystem({ identity: opsId, config: quiet });
      extra.push(s);
      return s;
    },
    async close() {
      await Promise.all([client.close(), ...extra.map((s) => s.close())]);
      await server.close();
      await proxy?.close();
    },
  };
}

/** A TCP proxy: forwards bytes both ways; `cut()` destroys every connection through it. */
export interface Proxy {
  readonly port: number;
  /** Connections made through it so far. */
  readonly accepted: number;
  cut(): void;
  /** Refuse new connections (they are destroyed at once) until `resume()`. */
  refuse(): void;
  resume(): void;
  close(): Promise<void>;
}

async function startProxy(target: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let refusing = false;
  const server = net.createServer((inbound) => {
    if (refusing) {
      inbound.destroy();
      return;
    }
    accepted++;
    const outbound = net.connect(target, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get accepted() {
      return accepted;
    },
    cut() {
      for (const s of sockets) s.destroy();
    },
    refuse() {
      refusing = true;
    },
    resume() {
      refusing = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Wait until `check()` is true, polling every few ms; fails after `ms`. */
export async function eventually(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}
