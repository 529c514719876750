/**
 * Placement (claims bound to leases) and durable state of keyed actors in PostgreSQL: the
 * `<schema>.placements` and `<schema>.actor_state` tables of migration 2 (docs/CLUSTER.md section 3).
 * Every operation is ONE statement, so the checks it makes (this node's lease is live, it holds the
 * claim, the version is the expected one) hold at the moment it writes, by the database's clock.
 *
 * Errors: the database's own error, and a query cut by the provider's queryTimeoutMs, become RpcError
 * UNAVAILABLE reason STORE_UNAVAILABLE with the error as `cause`; nothing is retried here. A statement
 * cut that way is of unknown outcome (the server may still commit it): a save retried with the same
 * expected version is then refused STALE_STATE, never written twice.
 */
import { decode, encode } from '@msgpack/msgpack';
import type { Observable } from 'rxjs';
import { RpcError, rpcError } from '../../actors/errors.js';
import {
  type Claim,
  ClusterReason,
  type LeaseState,
  type Placement,
  type StateStore,
  type StoredState,
} from '../placement.js';
import type { LeaseClock } from './lease.js';
import type { Queryable } from './schema.js';

/** What the store needs of its membership provider. */
export interface StoreHost {
  readonly schema: string;
  readonly lease: LeaseClock;
  readonly maxStateBytes: number;
  /** This node's key id once joined (and not left or closed), else undefined. */
  self(): string | undefined;
  /** The query connection (opened again when missing). Rejects with pg's error. */
  database(): Promise<Queryable>;
}

export class PostgresStore implements Placement, StateStore {
  readonly #host: StoreHost;

  constructor(host: StoreHost) {
    this.#host = host;
  }

  get lease$(): Observable<LeaseState> {
    return this.#host.lease.lease$;
  }

  leaseValid(): boolean {
    return this.#host.lease.isValid();
  }

  async claim(actor: string, key: string): Promise<Claim> {
    const self = this.#fenceCheck();
    const s = this.#host.schema;
    // Insert, or take the row over when its owner's lease has expired by now() (and the row was not
    // claimed since this statement began: a claim racing with this one wins). The owner itself
    // claiming again refreshes claimed_at. Only when this node's own row is live. RETURNING gives the
    // holder whichever way it went: ON CONFLICT DO UPDATE locks the row and sees its newest version,
    // so of concurrent claimers exactly one takes it.
    const { rows } = await this.#query<{ owner_key_id: string }>(
      `WITH me AS (SELECT key_id FROM ${s}.members WHERE key_id = $3 AND lease_expires_at > now())
       INSERT INTO ${s}.placements AS p (actor, key, owner_key_id, claimed_at)
       SELECT $1, $2, key_id, now() FROM me
       ON CONFLICT (actor, key) DO UPDATE SET
         (owner_key_id, claimed_at) = (
           SELECT CASE WHEN t THEN excluded.owner_key_id ELSE p.owner_key_id END,
                  CASE WHEN t THEN now() ELSE p.claimed_at END
             FROM (SELECT p.owner_key_id = excluded.owner_key_id
                     OR (p.claimed_at < now() AND EXISTS (
                          SELECT 1 FROM ${s}.members o
                           WHERE o.key_id = p.owner_key_id AND o.lease_expires_at <= now())) AS t) AS x)
       RETURNING owner_key_id`,
      [actor, key, self],
      'claim',
    );
    const owner = rows[0]?.owner_key_id;
    if (owner === undefined) throw fenced('its member row is not live by the database clock');
    return { owner };
  }

  async release(actor: string, key: string): Promise<void> {
    const self = this.#joined();
    await this.#query(
      `DELETE FROM ${this.#host.schema}.placements WHERE actor = $1 AND key = $2 AND owner_key_id = $3`,
      [actor, key, self],
      'release',
    );
  }

  async load(actor: string, key: string): Promise<StoredState> {
    this.#joined();
    const { rows } = await this.#query<{ version: string; value: Uint8Array | null }>(
      `SELECT version, value FROM ${this.#host.schema}.actor_state WHERE actor = $1 AND key = $2`,
      [actor, key],
      'load',
    );
    const row = rows[0];
    if (!row) return { value: undefined, version: 0 };
    let value: unknown;
    try {
      value = row.value === null ? undefined : decode(row.value);
    } catch (err) {
      throw rpcError('DATA_LOSS', `cluster: the saved state of ${actor}/${key} is not MessagePack`, {
        cause: err,
      });
    }
    return { value, version: Number(row.version) };
  }

  async save(actor: string, key: string, value: unknown, expected: number): Promise<number> {
    const self = this.#joined();
    if (!Number.isSafeInteger(expected) || expected < 0) {
      throw rpcError(
        'INVALID_ARGUMENT',
        `cluster: expected version must be an integer >= 0, got ${expected}`,
      );
    }
    let bytes: Uint8Array | null = null;
    if (value !== undefined) {
      try {
        const encoded = encode(value);
        bytes = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
      } catch (err) {
        throw rpcError('INVALID_ARGUMENT', `cluster: the state of ${actor}/${key} cannot be encoded`, {
          cause: err,
        });
      }
      if (bytes.byteLength > this.#host.maxStateBytes) {
        throw rpcError(
          'RESOURCE_EXHAUSTED',
          `cluster: the state of ${actor}/${key} is ${bytes.byteLength} bytes, over maxStateBytes (${this.#host.maxStateBytes})`,
        );
      }
    }
    const s = this.#host.schema;
    // One statement: this node holds the claim under a live lease (the claim row locked and seen at its
    // newest version), and the version is `expected` (0: no row yet, inserted; else updated in place).
    const { rows } = await this.#query<{ version: string }>(
      `WITH ok AS (
         SELECT 1 FROM ${s}.placements p JOIN ${s}.members m ON m.key_id = p.owner_key_id
          WHERE p.actor = $1 AND p.key = $2 AND p.owner_key_id = $3 AND m.lease_expires_at > now()
          FOR SHARE OF p
       ), upd AS (
         UPDATE ${s}.actor_state SET version = version + 1, value = $5, updated_at = now()
          WHERE actor = $1 AND key = $2 AND version = $4 AND $4 > 0 AND EXISTS (SELECT 1 FROM ok)
          RETURNING version
       ), ins AS (
         INSERT INTO ${s}.actor_state (actor, key, version, value)
         SELECT $1, $2, 1, $5 FROM ok WHERE $4 = 0
         ON CONFLICT (actor, key) DO NOTHING
         RETURNING version
       )
       SELECT version FROM upd UNION ALL SELECT version FROM ins`,
      [actor, key, self, expected, bytes],
      'save',
    );
    const row = rows[0];
    if (!row) {
      throw rpcError(
        'ABORTED',
        `cluster: stale state of ${actor}/${key}: not at version ${expected}, or this node does not hold it under a live lease`,
        { reason: ClusterReason.STALE_STATE },
      );
    }
    return Number(row.version);
  }

  /** This node's key id; rejects FENCED when its lease is not known valid. */
  #fenceCheck(): string {
    const self = this.#host.self();
    if (self === undefined || !this.#host.lease.isValid()) throw fenced('its lease is not known valid');
    return self;
  }

  /** This node's key id; rejects STORE_UNAVAILABLE before join and after leave/close. */
  #joined(): string {
    const self = this.#host.self();
    if (self === undefined) {
      throw rpcError('UNAVAILABLE', 'cluster: the membership is not joined (or has left)', {
        reason: ClusterReason.STORE_UNAVAILABLE,
      });
    }
    return self;
  }

  async #query<R extends Record<string, unknown>>(
    text: string,
    values: unknown[],
    what: string,
  ): Promise<{ rows: R[] }> {
    try {
      const db = await this.#host.database();
      return await db.query<R>(text, values);
    } catch (err) {
      if (err instanceof RpcError) throw err;
      throw rpcError('UNAVAILABLE', `cluster: ${what} failed in the database: ${(err as Error)?.message}`, {
        reason: ClusterReason.STORE_UNAVAILABLE,
        cause: err,
      });
    }
  }
}

function fenced(why: string): RpcError {
  return rpcError('UNAVAILABLE', `cluster: fenced: ${why}`, { reason: ClusterReason.FENCED });
}
