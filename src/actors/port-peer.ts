/**
 * MessagePort peers of an ActorSystem: dialling a {@link PortPeer} and accepting on a port served with
 * `system.servePort()`. Keyed (the in-band ed25519 handshake: identities, `authorizedKeys`, grants, as
 * over TLS) unless both sides say `insecure`.
 */
import type { AuthorizedKeyInput, AuthorizedKeys } from '../auth/index.js';
import {
  acceptPort,
  acceptPortInsecure,
  type Connection,
  dialPort,
  dialPortInsecure,
  type Ed25519Signer,
  type PortLike,
  type PortOptions,
} from '../transport/connection/index.js';
import type { PortPeer } from './caller/client.js';
import { rpcError } from './errors.js';
import { claim } from './port-claim.js';

/** How `system.servePort(port, options)` accepts the connection. */
export interface ServePortOptions extends PortOptions {
  /**
   * Accept the peer without the handshake of keys: calls on it have no caller identity
   * (`callContext().caller` is undefined) and `allow` lists refuse them. The dialing side must say
   * `insecure` too. Default false: this system's identity and authorizedKeys judge the peer as over TLS.
   */
  insecure?: boolean;
}

/**
 * Dials `peer`: the client side of the handshake on its port. Rejects RpcError UNAVAILABLE (the port
 * carried a connection before), INVALID_ARGUMENT (keyed without an identity or a key), or the
 * connection layer's TransportError (UNAUTHENTICATED, HANDSHAKE_TIMEOUT, CONNECTION_LOST...).
 */
export async function dialPortPeer(peer: PortPeer, identity: Ed25519Signer | undefined): Promise<Connection> {
  const port = peer.messagePort;
  if (peer.insecure === true) {
    claim(port);
    return dialPortInsecure(port);
  }
  if (!identity) throw rpcError('INVALID_ARGUMENT', 'a MessagePort peer with a key needs an identity');
  if (peer.key === undefined)
    throw rpcError('INVALID_ARGUMENT', 'a MessagePort peer needs a key (or insecure: true)');
  claim(port);
  return dialPort(port, {
    signer: identity,
    serverKey: peer.key,
    ...(peer.grant === undefined ? {} : { grant: peer.grant }),
  });
}

/** Accepts on `port`: the server side of the handshake. Rejects like {@link dialPortPeer}. */
export async function acceptPortPeer(
  port: PortLike,
  identity: Ed25519Signer | undefined,
  authorizedKeys: AuthorizedKeys | readonly AuthorizedKeyInput[] | undefined,
  options: ServePortOptions,
): Promise<Connection> {
  const { insecure, ...portOptions } = options;
  if (insecure === true) {
    claim(port);
    return acceptPortInsecure(port, portOptions);
  }
  if (!identity) throw rpcError('INVALID_ARGUMENT', 'servePort needs an identity (or insecure: true)');
  if (!authorizedKeys)
    throw rpcError('INVALID_ARGUMENT', 'servePort needs authorizedKeys (or insecure: true)');
  claim(port);
  return acceptPort(port, { ...portOptions, signer: identity, authorizedKeys });
}
