/**
 * TLS 1.3 listening and dialling, which an ActorSystem uses by default: on Node, the connection
 * layer's. An ActorSystem's `identity` may be any {@link SigningIdentity}; TLS needs an `Identity` (its
 * certificates are made from the key's seed), so any other rejects with TransportError INVALID_CONFIG.
 */
import { checkGrant, Identity, keysEqual, toKeyBytes } from '../../auth/index.js';
import {
  type Connection,
  dialTls as dial,
  type Listener,
  listenTls as listen,
  type SigningIdentity,
  type TlsDialOptions,
  type TlsListenOptions,
} from '../../transport/connection/index.js';
import { transportError } from '../../transport/errors.js';

/** TLS options whose `identity` is whatever an ActorSystem was given. */
export type AnyIdentity<T> = Omit<T, 'identity'> & { identity: Identity | SigningIdentity };

export function dialTls(options: AnyIdentity<TlsDialOptions>): Promise<Connection> {
  const { identity } = options;
  if (!(identity instanceof Identity)) return Promise.reject(notAnIdentity());
  return dial({ ...options, identity });
}

export function listenTls(
  options: AnyIdentity<TlsListenOptions>,
  onConnection: (c: Connection) => void,
): Promise<Listener> {
  const { identity } = options;
  if (!(identity instanceof Identity)) return Promise.reject(notAnIdentity());
  return listen({ ...options, identity }, onConnection);
}

function notAnIdentity() {
  return transportError(
    'INVALID_CONFIG',
    'TLS needs an Identity (its certificates are made from the key): this identity can only dial url peers and listen for WebSocket clients',
  );
}

/**
 * The `serverGrant` check of a cluster member (docs/CLUSTER.md section 5): its certificate must carry a
 * grant for its own key, signed by `adminKey`, valid now. Throws AuthError INVALID_KEY for a bad
 * `adminKey`.
 */
export function memberGrantCheck(
  adminKey: string | Uint8Array,
): (grant: Uint8Array | undefined, serverKey: Uint8Array) => string | undefined {
  const admin = toKeyBytes(adminKey, 'cluster adminKey');
  return (grant, serverKey) => {
    if (grant === undefined) return 'the member shows no grant';
    const check = checkGrant(grant, serverKey, (k) => keysEqual(k, admin));
    return check.ok ? undefined : `the member's grant does not hold (${check.problem}): ${check.message}`;
  };
}
