/**
 * Child-process entry of the suite benchmark: the serving side of ONE system, so that the CPU time and
 * memory a child measures (../lib/suite-child.ts) are that system's alone.
 *
 *   rxchan  an ActorSystem listening over mutual TLS 1.3 (both keys checked), hosting `bench` (./actor.ts);
 *           ports: rxchan; stats: the system's, and `idleSubscribed` (./actor.ts, scenario 6);
 *   grpc    @grpc/grpc-js over mutual TLS 1.3 (../lib/grpc-service.ts); ports: grpc;
 *   raw     node:tls, mutual TLS 1.3, nothing checked: a length-prefixed echo, a one-way sink and a
 *           one-way source (../lib/raw-tls.ts); ports: echo, sink, source;
 *   mux, channel  the layers under an rxchan call, over the same mutual TLS (../lib/layers.ts); ports: the
 *           layer's name.
 *
 * Arguments: the system, then a JSON {@link PeerSpec}. Only run as a child: importing it serves.
 */
import 'reflect-metadata';
import { ActorSystem, Identity } from '../../src/index.js';
import { startGrpcServer } from '../lib/grpc-service.js';
import { serveChannelAdd, serveMuxEcho } from '../lib/layers.js';
import { rawEchoServer, rawSinkServer, rawSourceServer } from '../lib/raw-tls.js';
import { type Served, serveSuitePeer } from '../lib/suite-child.js';
import { Bench, idleSubscriptions } from './actor.js';
import { interceptionOptions } from './intercept.js';
import { type Layer, type PeerSpec, streamLimits } from './spec.js';

async function serveRxchan(spec: PeerSpec): Promise<Served> {
  const identity = Identity.fromSeed(Buffer.from(spec.serverSeed, 'hex'));
  const system = new ActorSystem({
    identity,
    authorizedKeys: [{ key: spec.clientId, name: 'bench' }],
    ...(spec.streams > 0 ? streamLimits(spec.streams) : {}),
    ...interceptionOptions(spec.intercepted),
  });
  await system.register(Bench);
  const { port } = await system.listen();
  return {
    ports: { rxchan: port },
    close: () => system.close(),
    stats: () => {
      // The numbers only: the counts by code are not what the suite compares.
      const { callsMade: _made, callsServed: _served, ...numbers } = system.stats();
      return { ...numbers, idleSubscribed: idleSubscriptions() };
    },
  };
}

async function serveLayer(layer: Layer, spec: PeerSpec): Promise<Served> {
  const identity = Identity.fromSeed(Buffer.from(spec.serverSeed, 'hex'));
  const server = await (layer === 'mux' ? serveMuxEcho : serveChannelAdd)(identity, spec.clientId);
  return { ports: { [layer]: server.port }, close: () => server.close() };
}

async function serveGrpc(spec: PeerSpec): Promise<Served> {
  const server = await startGrpcServer(
    { certPem: spec.serverCertPem, keyPem: spec.serverKeyPem },
    spec.clientCertPem,
  );
  return { ports: { grpc: server.port }, close: () => server.close() };
}

async function serveRaw(spec: PeerSpec): Promise<Served> {
  const cert = { certPem: spec.serverCertPem, keyPem: spec.serverKeyPem };
  const echo = await rawEchoServer(cert);
  const sink = await rawSinkServer(cert);
  const source = await rawSourceServer(cert);
  return {
    ports: { echo: echo.port, sink: sink.port, source: source.port },
    close: async () => {
      await Promise.all([echo.close(), sink.close(), source.close()]);
    },
  };
}

const [system, json] = process.argv.slice(2);

if (system !== undefined) {
  serveSuitePeer(async () => {
    if (!json) throw new Error('usage: peer <rxchan|grpc|raw|mux|channel> <json spec>');
    const spec = JSON.parse(json) as PeerSpec;
    if (system === 'rxchan') return serveRxchan(spec);
    if (system === 'grpc') return serveGrpc(spec);
    if (system === 'raw') return serveRaw(spec);
    if (system === 'mux' || system === 'channel') return serveLayer(system, spec);
    throw new Error(`unknown system ${system}`);
  });
}
