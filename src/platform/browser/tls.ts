/**
 * TLS listening and dialling, in a browser: there is none (a page cannot open TCP or present a client
 * certificate). An ActorSystem there dials through its `dial` option and does not listen. Same surface as
 * src/platform/node/tls.ts; both functions reject with TransportError INVALID_CONFIG.
 */

import type { Identity } from '../../auth/identity.js';
import type {
  Connection,
  Listener,
  SigningIdentity,
  TlsDialOptions,
  TlsListenOptions,
} from '../../transport/connection/index.js';
import { transportError } from '../../transport/errors.js';

/** TLS options whose `identity` is whatever an ActorSystem was given (as on Node). */
export type AnyIdentity<T> = Omit<T, 'identity'> & { identity: Identity | SigningIdentity };

export function dialTls(_options: AnyIdentity<TlsDialOptions>): Promise<Connection> {
  return Promise.reject(
    transportError(
      'INVALID_CONFIG',
      'no TLS in a browser: dial `{ url, key }` peers (wss://) or give the ActorSystem a `dial` function',
    ),
  );
}

export function listenTls(
  _options: AnyIdentity<TlsListenOptions>,
  _onConnection: (c: Connection) => void,
): Promise<Listener> {
  return Promise.reject(transportError('INVALID_CONFIG', 'an ActorSystem cannot listen in a browser'));
}

/** No cluster members in a browser (no TLS): every member is refused. */
export function memberGrantCheck(
  _adminKey: string | Uint8Array,
): (grant: Uint8Array | undefined, serverKey: Uint8Array) => string | undefined {
  return () => 'no TLS in a browser';
}
