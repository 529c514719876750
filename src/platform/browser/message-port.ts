/**
 * MessagePort connections of an ActorSystem, in a browser: not built yet (the in-band handshake and
 * the prelude read a Node byte stream). Same surface as src/platform/node/message-port.ts; both
 * functions reject with TransportError INVALID_CONFIG.
 */

import type { PortPeer } from '../../actors/caller/client.js';
import type { ServePortOptions } from '../../actors/port-peer.js';
import type { AuthorizedKeyInput, AuthorizedKeys } from '../../auth/index.js';
import type { Connection, Ed25519Signer, PortLike } from '../../transport/connection/index.js';
import { transportError } from '../../transport/errors.js';

export function dialPortPeer(_peer: PortPeer, _identity: Ed25519Signer | undefined): Promise<Connection> {
  return Promise.reject(transportError('INVALID_CONFIG', 'MessagePort peers are not built for browsers yet'));
}

export function acceptPortPeer(
  _port: PortLike,
  _identity: Ed25519Signer | undefined,
  _authorizedKeys: AuthorizedKeys | readonly AuthorizedKeyInput[] | undefined,
  _options: ServePortOptions,
): Promise<Connection> {
  return Promise.reject(
    transportError('INVALID_CONFIG', 'MessagePort serving is not built for browsers yet'),
  );
}
