/**
 * Which addresses a node announces to its cluster: the ones it was told to (`ClusterOptions.announce`),
 * else its listeners'. A listener bound to a wildcard address (0.0.0.0, ::) accepts on every interface
 * but cannot be dialled at that address, so announcing it would route every call to nowhere: that is
 * refused, naming the fix.
 */
import { rpcError } from '../actors/errors.js';
import type { MemberAddresses } from './member.js';

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0']);

/**
 * The addresses to announce. Throws RpcError INVALID_ARGUMENT when there is none, or when a listener's
 * host (used because `announce` gives no TLS address) is a wildcard.
 */
export function announcedAddresses(
  listening: MemberAddresses,
  announce: MemberAddresses | undefined,
): MemberAddresses {
  const tls = announce?.tls ?? listening.tls;
  const ws = announce?.ws ?? listening.ws;
  if (!tls && ws === undefined) {
    throw rpcError('INVALID_ARGUMENT', 'joinCluster needs a TLS or WebSocket listener: listen() first');
  }
  if (tls && !announce?.tls && WILDCARDS.has(tls.host)) {
    throw rpcError(
      'INVALID_ARGUMENT',
      `joinCluster: the TLS listener is bound to ${tls.host}, which peers cannot dial: set cluster.announce.tls to the host and port they can reach`,
    );
  }
  return { ...(tls ? { tls: { host: tls.host, port: tls.port } } : {}), ...(ws !== undefined ? { ws } : {}) };
}
