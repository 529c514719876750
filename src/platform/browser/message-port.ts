/**
 * MessagePort connections of an ActorSystem, in a browser (a page and its Workers): a
 * {@link PortSocket} on the port, then the in-band key handshake (origin `rxchan:messageport`) and the
 * prelude, the dialing side as client and the serving side as server, as on Node; or, insecure, the
 * prelude alone. The serving side judges keys by a list (`authorizedKeys: [{ key, name, admin? }]`, and
 * grants by its admins); authorized-keys files are Node-only. Same surface as src/platform/node/message-port.ts, and the same wire (a page
 * can face a Node thread).
 */
import type { PortPeer } from '../../actors/caller/client.js';
import { rpcError } from '../../actors/errors.js';
import { claim } from '../../actors/port-claim.js';
import type { ServePortOptions } from '../../actors/port-peer.js';
import type { AuthorizedKeyInput, AuthorizedKeys } from '../../auth/authorized-keys.js';
import { webPeerIdentity } from '../../auth/web-peer.js';
import { type ConnectionConfig, resolveConfig } from '../../transport/connection/config.js';
import type { Connection } from '../../transport/connection/connection.js';
import { inbandClient } from '../../transport/connection/inband-client.js';
import { type Ed25519Signer, withDeadline } from '../../transport/connection/inband-common.js';
import { inbandServer, type KeyJudge } from '../../transport/connection/inband-server.js';
import { PORT_ORIGIN, type PortLike } from '../../transport/connection/port-link.js';
import { PortSocket } from '../../transport/connection/port-socket.js';
import { clientPreludeOver, type Negotiated } from '../../transport/connection/prelude-client.js';
import { serverAcceptOver } from '../../transport/connection/prelude-server.js';
import { transportError } from '../../transport/errors.js';
import { keyListJudge } from './key-list-judge.js';

/**
 * Dials `peer`: the client side of the handshake on its port. Rejects RpcError UNAVAILABLE (the port
 * carried a connection before), INVALID_ARGUMENT (keyed without an identity or a key), or the
 * connection layer's TransportError (UNAUTHENTICATED, HANDSHAKE_TIMEOUT, CONNECTION_LOST,
 * INVALID_CONFIG...).
 */
export async function dialPortPeer(peer: PortPeer, identity: Ed25519Signer | undefined): Promise<Connection> {
  const port = peer.messagePort;
  if (peer.insecure !== true) {
    if (!identity) throw rpcError('INVALID_ARGUMENT', 'a MessagePort peer with a key needs an identity');
    if (peer.key === undefined)
      throw rpcError('INVALID_ARGUMENT', 'a MessagePort peer needs a key (or insecure: true)');
  }
  claim(port);
  const { socket, config } = socketOn(port, {});
  if (peer.insecure === true) {
    const negotiated = await withDeadline(socket, clientPreludeOver(socket), config.handshakeTimeoutMs);
    return connection(socket, 'client', negotiated, undefined);
  }
  const result = await inbandClient(
    socket,
    {
      signer: identity!,
      serverKey: peer.key!,
      origin: PORT_ORIGIN,
      timeoutMs: config.handshakeTimeoutMs,
      ...(peer.grant === undefined ? {} : { grant: peer.grant }),
    },
    (key) => webPeerIdentity(key),
  );
  return connection(socket, 'client', result, result.server);
}

/**
 * Accepts on `port`: the server side of the handshake, judging the client by the `authorizedKeys`
 * list. Rejects like {@link dialPortPeer}, and INVALID_CONFIG for AuthorizedKeys (a file: Node-only)
 * or a malformed list.
 */
export async function acceptPortPeer(
  port: PortLike,
  identity: Ed25519Signer | undefined,
  authorizedKeys: AuthorizedKeys | readonly AuthorizedKeyInput[] | undefined,
  options: ServePortOptions,
): Promise<Connection> {
  const { insecure, ...portOptions } = options;
  let judge: KeyJudge | undefined;
  if (insecure !== true) {
    if (!identity) throw rpcError('INVALID_ARGUMENT', 'servePort needs an identity (or insecure: true)');
    if (!authorizedKeys)
      throw rpcError('INVALID_ARGUMENT', 'servePort needs authorizedKeys (or insecure: true)');
    judge = listJudge(authorizedKeys);
  }
  claim(port);
  const { socket, config } = socketOn(port, portOptions);
  if (judge === undefined) {
    const negotiated = await withDeadline(socket, serverAcceptOver(socket), config.handshakeTimeoutMs);
    return connection(socket, 'server', negotiated, undefined);
  }
  const result = await inbandServer(
    socket,
    socket,
    { signer: identity!, origin: PORT_ORIGIN, timeoutMs: config.handshakeTimeoutMs },
    judge,
  );
  return connection(socket, 'server', result, result.peer);
}

/** A judge by a list; INVALID_CONFIG for anything else (AuthorizedKeys reads files: Node-only). */
function listJudge(keys: AuthorizedKeys | readonly AuthorizedKeyInput[]): KeyJudge {
  if (!Array.isArray(keys))
    throw transportError(
      'INVALID_CONFIG',
      'servePort in a browser: authorizedKeys must be a list [{ key, name }] (AuthorizedKeys files are Node-only)',
    );
  try {
    return keyListJudge(keys);
  } catch (err) {
    throw transportError('INVALID_CONFIG', `servePort: authorizedKeys: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** A PortSocket on `port` with `options` resolved; throws INVALID_CONFIG (the port closed). */
function socketOn(
  port: PortLike,
  options: Omit<ServePortOptions, 'insecure'>,
): { socket: PortSocket; config: ConnectionConfig } {
  let config: ConnectionConfig;
  try {
    const { handshakeTimeoutMs, portWindowBytes } = options;
    config = resolveConfig({
      ...(handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs }),
      ...(portWindowBytes === undefined ? {} : { portWindowBytes }),
    });
  } catch (err) {
    port.close?.();
    throw err;
  }
  return { socket: new PortSocket(port, config.portWindowBytes), config };
}

function connection(
  socket: PortSocket,
  role: 'client' | 'server',
  negotiated: Negotiated,
  peer: Connection['peer'],
): Connection {
  return {
    // Connection.socket is typed as a Node Duplex for Node programs; the session reads it only as a
    // ByteSocket, which is all this is.
    socket: socket as unknown as Connection['socket'],
    role,
    peer,
    version: negotiated.version,
    codec: negotiated.codec,
    resumed: false,
    remoteAddress: undefined,
  };
}
