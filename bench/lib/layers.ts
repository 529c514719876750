/**
 * The layers under an rxchan call, each served as request/reply over the same kind of connection (mutual
 * TLS 1.3 with ed25519 identities, the prelude, then a yamux session), so a benchmark can show where the
 * time of a call goes by subtracting one layer from the next:
 *
 *  - `mux`: one multiplexer stream per request: the client opens a stream whose SYN frame carries the
 *    request, half-closes it; the server writes the request back and half-closes. One stream per call,
 *    as every actor call opens one, but no channels and no MessagePack.
 *  - `channel`: the actor call's records without the actor layer: the client opens a DUPLEX stream,
 *    writes the CALL record `{ n: 'bench', m: 'add', a: [1, 2] }` on its half and ends it; the server
 *    answers `{ v: 3 }` on the return half and ends it (docs/PROTOCOL.md 4.1 and 5, the same records as
 *    an actor call).
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
  Session,
} from '../../src/index.js';

/** The request the `mux` layer echoes: about the size of an add(1, 2) CALL record. */
const MUX_REQUEST = new Uint8Array(30).fill(0x5a);

/** Keepalive off: a benchmark connection needs no pings. */
const MUX = { keepAliveIntervalMs: 0 };

/** The CALL record of add(1, 2), as an actor call writes it. */
interface AddCall {
  n: string;
  m: string;
  a: [number, number];
}

/** The reply's first record: the value. */
interface AddReply {
  v: number;
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

/** The `channel` layer's server: every DUPLEX stream carries an add, answered `{ v }` and ended. */
export function serveChannelAdd(identity: Identity, client: string) {
  return listen(identity, client, (session) => {
    const channels = new ChannelSession(session);
    channels.onDuplex = (ends) => {
      const reply = ends.sender;
      ends.receiver.consume({
        next(message) {
          const call = message as AddCall;
          try {
            reply.write({ v: call.a[0] + call.a[1] });
          } catch {
            // the stream ended meanwhile (the benchmark closed the connection)
          }
          reply.close();
        },
        error() {}, // the connection ended (the benchmark closes it)
        complete() {},
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
    const call = () =>
      new Promise<number>((resolve, reject) => {
        const { sender, receiver } = channels.openDuplex<AddCall, AddReply>();
        let answered = false; // an Error made per call would cost more than the call
        receiver.consume({
          next: (m) => {
            answered = true;
            if (m.v === 3) resolve(m.v);
            else reject(new Error(`add(1, 2) = ${m.v}`));
          },
          error: reject,
          complete: () => {
            if (!answered) reject(new Error('the reply ended without a value'));
          },
        });
        sender.write({ n: 'bench', m: 'add', a: [1, 2] });
        sender.close();
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
