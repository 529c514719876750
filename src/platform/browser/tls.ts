/**
 * TLS listening and dialling, in a browser: there is none (a page cannot open TCP or present a client
 * certificate). An ActorSystem there dials through its `dial` option and does not listen. Same surface as
 * src/platform/node/tls.ts; both functions reject with TransportError INVALID_CONFIG.
 */
import type {
  Connection,
  Listener,
  TlsDialOptions,
  TlsListenOptions,
} from '../../transport/connection/index.js';
import { transportError } from '../../transport/errors.js';

export function dialTls(_options: TlsDialOptions): Promise<Connection> {
  return Promise.reject(
    transportError('INVALID_CONFIG', 'no TLS in a browser: give the ActorSystem a `dial` function'),
  );
}

export function listenTls(
  _options: TlsListenOptions,
  _onConnection: (c: Connection) => void,
): Promise<Listener> {
  return Promise.reject(transportError('INVALID_CONFIG', 'an ActorSystem cannot listen in a browser'));
}
