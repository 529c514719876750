/**
 * Child-process entry of the `browser` benchmark: the serving side of ONE system over plain WebSocket
 * on 127.0.0.1, so the CPU time a child measures (../lib/suite-child.ts) is that system's alone.
 *
 *   rxchan   an ActorSystem with `listen({ websocket })` (in-band ed25519 handshake, the page's key
 *            authorized), hosting the suite's `bench` actor (../suite/actor.ts: `add`, `seqs`, `range`);
 *            ports: rxchan (path /rxchan).
 *   capnweb  the `ws` package's WebSocketServer, each connection a `newWebSocketRpcSession` with
 *            {@link CapnwebBench} as its main object (no authentication); ports: capnweb.
 *   raw      the same WebSocketServer answering `[id, a, b]` with `[id, a + b]`, one JSON text message
 *            each way per call, no RPC library; ports: raw.
 *
 * Arguments: the system, then a JSON {@link BrowserPeerSpec}. Only run as a child: importing it serves.
 */
import 'reflect-metadata';
import { newWebSocketRpcSession, RpcTarget } from 'capnweb';
import { WebSocketServer, WebSocket as WsSocket } from 'ws';
import { ActorSystem, Identity } from '../../src/index.js';
import { type Served, serveSuitePeer } from '../lib/suite-child.js';
import { Bench, type Seq } from '../suite/actor.js';

/** What the parent tells a child. */
export interface BrowserPeerSpec {
  /** The rxchan server's ed25519 seed, hex. */
  serverSeed: string;
  /** The page's key, the only one the rxchan server admits. */
  clientId: string;
}

/** capnweb's side of the bench: the same two methods, the stream as a pulled ReadableStream. */
export class CapnwebBench extends RpcTarget {
  add(a: number, b: number): number {
    return a + b;
  }

  /**
   * `n` messages `{ seq }`, one enqueued per pull: capnweb pulls as its flow control allows, as rxchan
   * pulls the `seqs` AsyncIterable.
   */
  seqs(n: number): ReadableStream<Seq> {
    let seq = 0;
    return new ReadableStream<Seq>({
      pull(controller) {
        if (seq < n) controller.enqueue({ seq: seq++ });
        else controller.close();
      },
    });
  }
}

async function serveRxchan(spec: BrowserPeerSpec): Promise<Served> {
  const system = new ActorSystem({
    identity: Identity.fromSeed(Buffer.from(spec.serverSeed, 'hex')),
    authorizedKeys: [{ key: spec.clientId, name: 'page' }],
  });
  await system.register(Bench);
  const { port } = await system.listen({ websocket: { host: '127.0.0.1', port: 0 } });
  return { ports: { rxchan: port }, close: () => system.close() };
}

/** A `ws` WebSocketServer on 127.0.0.1, listening. */
async function wsServer(): Promise<WebSocketServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return server;
}

/** `server` as a child's {@link Served}, its port under `name`. */
function served(name: string, server: WebSocketServer): Served {
  const { port } = server.address() as { port: number };
  return {
    ports: { [name]: port },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  };
}

async function serveCapnweb(): Promise<Served> {
  // capnweb reads `WebSocket.CONNECTING` from the global, which Node 20 lacks; `ws` has the same constants.
  (globalThis as { WebSocket?: unknown }).WebSocket ??= WsSocket;
  const server = await wsServer();
  server.on('connection', (ws) => {
    // capnweb types its parameter as the DOM WebSocket; `ws` implements the part it uses.
    newWebSocketRpcSession(ws as unknown as WebSocket, new CapnwebBench());
  });
  return served('capnweb', server);
}

async function serveRaw(): Promise<Served> {
  const server = await wsServer();
  server.on('connection', (ws) => {
    ws.on('message', (data) => {
      const [id, a, b] = JSON.parse(String(data)) as [number, number, number];
      ws.send(JSON.stringify([id, a + b]));
    });
  });
  return served('raw', server);
}

const [system, json] = process.argv.slice(2);
const spec = JSON.parse(json ?? '{}') as BrowserPeerSpec;
serveSuitePeer(() => {
  if (system === 'rxchan') return serveRxchan(spec);
  if (system === 'capnweb') return serveCapnweb();
  if (system === 'raw') return serveRaw();
  return Promise.reject(new Error(`unknown system ${system}`));
});
