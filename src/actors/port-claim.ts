/** Which MessagePorts carried a connection (a port carries one), for both builds' port peers. */
import type { PortLike } from '../transport/connection/port-link.js';
import { rpcError } from './errors.js';

/** Ports that carried a connection: one can carry only one. */
const used = new WeakSet<PortLike>();

/** Marks `port` as used; throws RpcError UNAVAILABLE if it already carried a connection. */
export function claim(port: PortLike): void {
  if (used.has(port)) {
    throw rpcError('UNAVAILABLE', 'this MessagePort already carried a connection (a port carries one)');
  }
  used.add(port);
}
