/**
 * The cluster schema against a real PostgreSQL (a throwaway server, specs/support/postgres.ts): created
 * and versioned by the library, a second migration is a no-op, and nodes starting at once are safe.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { postgresMembership } from '../../src/cluster/postgres/membership.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from '../../src/cluster/postgres/schema.js';
import { isTransportError } from '../../src/transport/errors.js';
import { section } from '../support/markdown.js';
import { initdbPath, NO_POSTGRES, type PostgresServer, startPostgres } from '../support/postgres.js';
import { memberOn } from './members.js';

/** Every column of every table, as docs/CLUSTER.md lists them. */
export const COLUMNS: Record<string, string[]> = {
  migrations: ['version', 'name', 'applied_at'],
  members: [
    'key_id',
    'tls_host',
    'tls_port',
    'ws_url',
    'actors',
    'load',
    'joined_at',
    'renewed_at',
    'lease_expires_at',
  ],
  placements: ['actor', 'key', 'owner_key_id', 'claimed_at'],
  actor_state: ['actor', 'key', 'version', 'value', 'updated_at'],
};

// dist/specs/cluster/postgres-schema.spec.js -> the repository root is three levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('docs/CLUSTER.md: the schema', () => {
  it('documents every column of every table, in order', () => {
    const text = section(readFileSync(join(root, 'docs', 'CLUSTER.md'), 'utf8'), '## 3. The schema');
    for (const [table, columns] of Object.entries(COLUMNS)) {
      const part = section(text, `### \`<schema>.${table}\``);
      const documented = [...part.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
      assert.deepEqual(documented, columns, table);
    }
  });
});

describe('cluster schema on PostgreSQL', { skip: initdbPath() ? false : NO_POSTGRES }, () => {
  let server: PostgresServer;
  const clients: pg.Client[] = [];
  const client = async () => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await server?.stop();
  });

  it('creates the schema with its migrations table, versioned; a second start is a no-op', async () => {
    const db = await client();
    assert.deepEqual(
      await migrate(db, 's_fresh'),
      MIGRATIONS.map((m) => m.version),
    );
    const versions = await db.query('SELECT version, name FROM s_fresh.migrations ORDER BY version');
    assert.deepEqual(
      versions.rows,
      MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
    );
    assert.equal(versions.rows.at(-1)?.version, SCHEMA_VERSION);
    const columns = await db.query(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = 's_fresh' ORDER BY table_name, ordinal_position`,
    );
    const tables: Record<string, string[]> = {};
    for (const r of columns.rows) {
      tables[r.table_name] = [...(tables[r.table_name] ?? []), r.column_name];
    }
    assert.deepEqual(tables, COLUMNS);
    assert.deepEqual(await migrate(db, 's_fresh'), [], 'nothing left to apply');
    const again = await db.query('SELECT count(*)::int AS n FROM s_fresh.migrations');
    assert.equal(again.rows[0].n, MIGRATIONS.length);
  });

  it('two nodes migrating at once: one applies, the other waits and finds nothing to do', async () => {
    const [a, b] = [await client(), await client()];
    const results = await Promise.all([migrate(a, 's_race'), migrate(b, 's_race')]);
    assert.deepEqual(results.map((r) => r.length).sort(), [0, MIGRATIONS.length]);
  });

  it('three nodes joining a fresh schema at once all join', async () => {
    const nodes = [1, 2, 3].map(() =>
      postgresMembership({ connection: server.url, schema: 's_join_race', config: { refreshMs: 60_000 } }),
    );
    try {
      await Promise.all(nodes.map((n, i) => n.join(memberOn(7100 + i))));
      const db = await client();
      const rows = await db.query('SELECT count(*)::int AS n FROM s_join_race.members');
      assert.equal(rows.rows[0].n, 3);
    } finally {
      await Promise.all(nodes.map((n) => n.leave()));
    }
  });

  it('refuses a schema that a newer rxchan migrated (INVALID_CONFIG), changing nothing', async () => {
    const db = await client();
    await migrate(db, 's_newer');
    await db.query(`INSERT INTO s_newer.migrations (version, name) VALUES (${SCHEMA_VERSION + 1}, 'future')`);
    await assert.rejects(migrate(db, 's_newer'), (e: unknown) => isTransportError(e, 'INVALID_CONFIG'));
    const rows = await db.query('SELECT count(*)::int AS n FROM s_newer.migrations');
    assert.equal(rows.rows[0].n, MIGRATIONS.length + 1);
  });
});
