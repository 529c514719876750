/**
 * The cluster's PostgreSQL schema, created and migrated by the library: a list of numbered migrations,
 * applied in order, each recorded in `<schema>.migrations`. docs/CLUSTER.md describes every table and
 * column; a migration, once released, never changes (a change is a new migration).
 *
 * `migrate` is idempotent and safe when several nodes start at once: it runs in one transaction under a
 * transaction-scoped advisory lock (`pg_advisory_xact_lock`) keyed by the schema's name, so the second
 * node waits for the first, then finds every migration applied and does nothing.
 */
import { transportError } from '../../transport/errors.js';

/** The part of a `pg` client that the schema needs. */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[] }>;
}

/** The schema used when none is given. */
export const DEFAULT_SCHEMA = 'rxchan';

/** The NOTIFY channel of a schema's membership changes: its payload is the key id that changed. */
export function membersChannel(schema: string): string {
  return `${schema}_members`;
}

/** Throws TransportError INVALID_CONFIG unless `schema` is a plain lower-case SQL identifier. */
export function verifySchemaName(schema: string): void {
  if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,40}$/.test(schema)) {
    throw transportError(
      'INVALID_CONFIG',
      `cluster: schema must be 1 to 41 characters of a-z, 0-9 and _ (not first a digit), got ${String(schema)}`,
    );
  }
}

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: (schema: string) => string;
}

/** Every migration, in order. Versions start at 1 and have no gaps. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'members',
    sql: (s) => `
      CREATE TABLE ${s}.members (
        key_id text PRIMARY KEY,
        tls_host text,
        tls_port integer CHECK (tls_port BETWEEN 1 AND 65535),
        ws_url text,
        actors text[] NOT NULL DEFAULT '{}',
        load double precision NOT NULL DEFAULT 0 CHECK (load >= 0),
        joined_at timestamptz NOT NULL DEFAULT now(),
        renewed_at timestamptz NOT NULL DEFAULT now(),
        lease_expires_at timestamptz NOT NULL
      );
      CREATE INDEX members_lease_expires_at ON ${s}.members (lease_expires_at);
      CREATE FUNCTION ${s}.members_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('${membersChannel(s)}', OLD.key_id);
          RETURN OLD;
        END IF;
        -- A renewal alone (only the lease moved) is not news: peers learn of expiry by reading.
        IF TG_OP = 'UPDATE'
          AND (OLD.tls_host, OLD.tls_port, OLD.ws_url, OLD.actors, OLD.load)
            IS NOT DISTINCT FROM (NEW.tls_host, NEW.tls_port, NEW.ws_url, NEW.actors, NEW.load)
          AND OLD.lease_expires_at > now() THEN
          RETURN NEW;
        END IF;
        PERFORM pg_notify('${membersChannel(s)}', NEW.key_id);
        RETURN NEW;
      END $$;
      CREATE TRIGGER members_notify AFTER INSERT OR UPDATE OR DELETE ON ${s}.members
        FOR EACH ROW EXECUTE FUNCTION ${s}.members_notify();
    `,
  },
  {
    version: 2,
    name: 'placements',
    sql: (s) => `
      CREATE TABLE ${s}.placements (
        actor text NOT NULL,
        key text NOT NULL,
        owner_key_id text NOT NULL REFERENCES ${s}.members (key_id) ON DELETE CASCADE,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (actor, key)
      );
      CREATE INDEX placements_owner_key_id ON ${s}.placements (owner_key_id);
      CREATE TABLE ${s}.actor_state (
        actor text NOT NULL,
        key text NOT NULL,
        version bigint NOT NULL CHECK (version >= 1),
        value bytea,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (actor, key)
      );
    `,
  },
];

/** The version a fully migrated schema has. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Creates `schema` if missing and applies the migrations it lacks, in one transaction under an advisory
 * lock. Resolves to the versions it applied (empty when there was nothing to do). Rejects with the
 * database's error (the transaction is rolled back), or with TransportError INVALID_CONFIG when the
 * schema holds a version newer than this library knows (a newer rxchan migrated it).
 */
export async function migrate(db: Queryable, schema: string): Promise<number[]> {
  verifySchemaName(schema);
  await db.query('BEGIN');
  try {
    await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`rxchan.migrate:${schema}`]);
    await db.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await db.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${schema}.migrations`,
    );
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw transportError(
        'INVALID_CONFIG',
        `cluster: schema ${schema} is at version ${current}, newer than this rxchan knows (${SCHEMA_VERSION})`,
      );
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await db.query(m.sql(schema));
      await db.query(`INSERT INTO ${schema}.migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    await db.query('COMMIT');
    return applied;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
