/**
 * A StateStore in this process's memory, for a single-process system and for specs. NOT durable: the
 * state is lost with the process, and it is shared only by the systems of this process that are given
 * the same store. It judges only the version (there is no claim to check: without a cluster, the
 * system holds every key).
 */
import { rpcError } from '../actors/errors.js';
import { ClusterReason, type StateStore, type StoredState } from './placement.js';

/** A new, empty in-memory StateStore (see the file's comment: not durable). */
export function memoryStateStore(): StateStore {
  const rows = new Map<string, StoredState>();
  const id = (actor: string, key: string) => `${actor}\u0000${key}`;
  return {
    async load(actor, key) {
      return rows.get(id(actor, key)) ?? { value: undefined, version: 0 };
    },
    async save(actor, key, value, expected) {
      const row = rows.get(id(actor, key));
      const version = row?.version ?? 0;
      if (version !== expected) {
        throw rpcError(
          'ABORTED',
          `state of ${actor}/${key}: version ${expected} is stale (the store has ${version})`,
          { reason: ClusterReason.STALE_STATE },
        );
      }
      rows.set(id(actor, key), { value, version: version + 1 });
      return version + 1;
    },
  };
}
