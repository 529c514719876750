/**
 * The PostgreSQL side of a provider spec file: a throwaway server for the file (started before its
 * tests, stopped after), `postgres` providers joined on a new schema per call, and plain `pg` clients
 * (the spec's own sessions: locks, reads of the tables). Call it inside a `describe`: it registers its
 * own `before` and `after`, which close every provider and client it made.
 */
import { after, before } from 'node:test';
import pg from 'pg';
import type { MembershipConfig } from '../../src/cluster/config.js';
import type { MemberInfo } from '../../src/cluster/member.js';
import type { Membership } from '../../src/cluster/membership.js';
import { postgresMembership } from '../../src/cluster/postgres/membership.js';
import { type PostgresServer, startPostgres } from '../support/postgres.js';
import { memberOn } from './members.js';

export interface JoinOptions {
  readonly onError?: (e: unknown) => void;
  /** Another connection string (another role, say); default: the server's. */
  readonly connection?: string;
}

export interface PostgresFixture {
  /** The server's connection string (only once the file's `before` ran). */
  readonly url: string;
  /**
   * `n` providers on a new schema (`<prefix>_<n>`), joined in order, with their member infos (on
   * 127.0.0.1, ports from `basePort`). `config` comes over the fixture's base config.
   */
  joined(
    n: number,
    config?: Partial<MembershipConfig>,
    options?: JoinOptions,
  ): Promise<{ schema: string; made: Membership[]; infos: MemberInfo[] }>;
  /** A provider made elsewhere, closed with the others after the file. */
  adopt(m: Membership): Membership;
  /** A connected client of its own (a session the spec controls). */
  client(): Promise<pg.Client>;
}

export function postgresFixture(
  prefix: string,
  basePort: number,
  base: Partial<MembershipConfig> = {},
): PostgresFixture {
  let server: PostgresServer | undefined;
  const open: Membership[] = [];
  const clients: pg.Client[] = [];
  let schemas = 0;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await Promise.all(open.splice(0).map((m) => m.close()));
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => {})));
    await server?.stop();
  });
  return {
    get url() {
      return server!.url;
    },
    async joined(n, config = {}, options = {}) {
      const schema = `${prefix}_${++schemas}`;
      const made = Array.from({ length: n }, () =>
        postgresMembership({
          connection: options.connection ?? server!.url,
          schema,
          config: { refreshMs: 60_000, ...base, ...config },
          ...(options.onError ? { onError: options.onError } : {}),
        }),
      );
      open.push(...made);
      const infos = made.map((_, i) => memberOn(basePort + i));
      for (let i = 0; i < n; i++) await made[i]!.join(infos[i]!);
      return { schema, made, infos };
    },
    adopt(m) {
      open.push(m);
      return m;
    },
    async client() {
      const c = new pg.Client({ connectionString: server!.url });
      await c.connect();
      clients.push(c);
      return c;
    },
  };
}
