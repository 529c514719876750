/**
 * The layers under an rxchan call, each served as request/reply over the same kind of connection (mutual
 * TLS 1.3 with ed25519 identities, the prelude, then a yamux session), so a benchmark can show where the
 * time of a call goes by subtracting one layer from the next:
 *
 *  - `mux`: one multiplexer stream per request: the client opens a stream whose SYN frame carries the
 *    request, half-closes it; the server writes the request back and half-closes. One stream per call,
 *    as every actor call opens one (its reply channel), but no channels and no MessagePack.
 *  - `channel`: the actor call's messages without the actor layer: a mailbox channel carries
 *    `{ m: 'add', a: [1, 2], r: Receiver }`, the server answers `{ v: 3 }` on the reply channel and
 *    closes it (docs/PROTOCOL.md 5.2 and 5.3, byte for byte the same shape).
 *
 * Servers: {@link serveMuxEcho}, {@link serveChannelAdd}. Clients: {@link LayerClient.connect}.
 */
import {
  ChannelSession,
  type Connection,
  dialTls,
  type Identity,
  type Listener,
  listenTls,
  type MuxStream,
  Receiver,
  type Sender,
  Session,
} from '../../src/index.js';

/** The request the `mux` layer echoes: about the size of an add(1, 2) CALL record. */
const MUX_REQUEST = new Uint8Array(30).fill(0x5a);

/** Keepalive off: a benchmark connection needs no pings. */
const MUX = { keepAliveIntervalMs: 0 };

interface AddCall {
  m: string;
  a: [number, number];
  r: Sender<{ v: number }>;
}

/** Listen with mutual TLS for `client` only; `serve` gets each connection's multiplexer session. */
async function listen(
  identity: Identity,
  client: string,
  serve: (session: Session) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const sessions: Session[] = [];
  const listener: Listener = await listenTls(
    { identity, authorizedKeys: [{ key: client, name: 'bench' }] },
    (connection: Connection) => {
      const session = new Session(connection.socket, connection.role, MUX);
      sessions.push(session);
      serve(session);
    },
  );
  return {
    port: listener.port,
    close: async () => {
      for (const s of sessions) s.destroy();
      await listener.close();
    },
  };
}

/** The `mux` layer's server: each stream's bytes are written back on it, then FIN. */
export function serveMuxEcho(identity: Identity, client: string) {
  return listen(identity, client, (session) => {
    session.onStream = (stream: MuxStream) => {
      const chunks: Uint8Array[] = [];
      stream.listen({
        onData: (chunk) => chunks.push(chunk),
        onEnd: () => {
          for (const c of chunks) stream.write(c);
          stream.end();
        },
        onClose: () => {},
      });
    };
  });
}

/** The `channel` layer's server: every message of every mailbox channel is an add, answered `{ v }`. */
export function serveChannelAdd(identity: Identity, client: string) {
  return listen(identity, client, (session) => {
    const channels = new ChannelSession(session);
    channels.onChannel = (mailbox) => {
      (mailbox as Receiver<AddCall>).subscribe({
        next(call) {
          const reply = call.r;
          reply.send({ v: call.a[0] + call.a[1] }).then(
            () => reply.close(),
            () => reply.close(),
          );
        },
        error() {}, // the connection ended (the benchmark closes it)
      });
    };
  });
}

/** A client of one layer's server: `call()` makes one request and resolves with its answer. */
export class LayerClient {
  private constructor(
    readonly call: () => Promise<unknown>,
    readonly close: () => Promise<void>,
  ) {}

  static async connect(layer: 'mux' | 'channel', identity: Identity, port: number, serverKey: string) {
    const connection = await dialTls({ identity, host: '127.0.0.1', port, serverKey, session: false });
    const session = new Session(connection.socket, connection.role, MUX);
    const close = async () => session.destroy();
    if (layer === 'mux') return new LayerClient(() => muxCall(session), close);
    const channels = new ChannelSession(session);
    const mailbox = channels.open<{ m: string; a: number[]; r: Receiver<{ v: number }> }>();
    const call = () =>
      new Promise<number>((resolve, reject) => {
        const reply = new Receiver<{ v: number }>();
        reply.subscribe({
          next: (m) => (m.v === 3 ? resolve(m.v) : reject(new Error(`add(1, 2) = ${m.v}`))),
          error: reject,
        });
        mailbox.send({ m: 'add', a: [1, 2], r: reply }).catch(reject);
      });
    return new LayerClient(call, close);
  }
}

/** One request on a fresh stream: resolves when the echo and the server's FIN arrived. */
function muxCall(session: Session): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.open(MUX_REQUEST);
    stream.end();
    let got = 0;
    stream.listen({
      onData: (chunk) => {
        got += chunk.length;
      },
      onEnd: () => (got === MUX_REQUEST.length ? resolve() : reject(new Error(`echo of ${got} bytes`))),
      onClose: (err) => {
        if (err) reject(err);
      },
    });
  });
}
