/**
 * The `postgres` membership provider: each node keeps a row in `<schema>.members` whose lease it
 * renews by heartbeat; a node is live while its lease has not expired by the database's clock
 * (`now()`), so the nodes' own clocks never matter. Peers learn of joins, changes and leaves at once
 * through LISTEN/NOTIFY (a trigger on the table), of expiries by a read timed to the earliest lease
 * in view, and read the whole list every `refreshMs` in case a notification was lost.
 *
 * `pg` is loaded on `join`, by a dynamic import, so a program (or a browser bundle) that never joins a
 * PostgreSQL cluster never loads it; it is an optional peer dependency of rxchan.
 *
 * A row is a hint, never a credential (member.ts): anyone who can write the table can write a row, so
 * a row is used only once the key it names has proven itself in a handshake and holds a grant signed by
 * the cluster admin. Rows that are not even well-formed are skipped here.
 *
 * Each node holds three connections: one for its queries (migration, reads, claims, state), one for
 * its lease renewals only (so that a burst of claims never delays a renewal), one that only LISTENs.
 * Each is opened again when lost, by the next heartbeat or read. A renewal that takes longer than
 * heartbeatTimeoutMs, and a query that runs longer than queryTimeoutMs, has its connection destroyed
 * (its socket, so a hung server cannot hold it); the next one opens a new connection.
 *
 * A watcher (`watch`) follows the members alike (the query and LISTEN connections, the same reads and
 * timers) without a row, a lease, a renewal connection or the cleanup duty.
 *
 * Keyed actors: `placement` and `state` (store.ts) keep claims and state in the same database, and
 * `placement.lease$` is this node's lease as it judges it (lease.ts). Every refresh also deletes member
 * rows expired for longer than expiredRetentionMs, with their claims (one node at a time, under an
 * advisory lock).
 */
import { Socket } from 'node:net';
import type { Client, ClientConfig } from 'pg';
import { BehaviorSubject, type Observable } from 'rxjs';
import { transportError } from '../../transport/errors.js';
import { type MembershipConfig, resolveMembershipConfig } from '../config.js';
import { freezeMember, type Member, type MemberInfo, sortMembers, verifyMember } from '../member.js';
import type { Membership } from '../membership.js';
import type { Placement, StateStore } from '../placement.js';
import { LeaseClock } from './lease.js';
import { DEFAULT_SCHEMA, membersChannel, migrate, type Queryable, verifySchemaName } from './schema.js';
import { PostgresStore } from './store.js';

/** Where the database is: a connection string, or the usual fields. */
export type PostgresConnection =
  | string
  | {
      readonly host?: string;
      readonly port?: number;
      readonly user?: string;
      readonly password?: string;
      readonly database?: string;
      /** Passed to `pg` as is (`true`, or Node TLS options). */
      readonly ssl?: boolean | Record<string, unknown>;
    };

export interface PostgresMembershipOptions {
  readonly connection: PostgresConnection;
  /** The schema holding rxchan's tables. Default 'rxchan'. */
  readonly schema?: string;
  /** Lease, heartbeat, refresh, connect and fencing timings, state limit; defaults in `defaultMembershipConfig()`. */
  readonly config?: Partial<MembershipConfig>;
  /**
   * Told of each failure after `join`: a heartbeat, a read or a reconnection that failed. The provider
   * carries on (it tries again on the next tick). Default: ignore.
   */
  readonly onError?: (err: unknown) => void;
}

/** 'starting' and 'watching' are a watcher's 'joining' and 'joined'. */
type State = 'new' | 'joining' | 'joined' | 'starting' | 'watching' | 'done';

/**
 * A provider over the PostgreSQL at `options.connection`. Throws TransportError INVALID_CONFIG for a
 * bad schema name or config; connects only on `join` or `watch`.
 */
export function postgresMembership(options: PostgresMembershipOptions): Membership {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  verifySchemaName(schema);
  const config = resolveMembershipConfig(options.config);
  return new PostgresMembership(options, schema, config);
}

type MemberRow = {
  key_id: string;
  tls_host: string | null;
  tls_port: number | null;
  ws_url: string | null;
  actors: string[];
  load: number;
  remaining_ms: number;
};

class PostgresMembership implements Membership {
  readonly #options: PostgresMembershipOptions;
  readonly #schema: string;
  readonly #config: MembershipConfig;
  readonly #subject = new BehaviorSubject<readonly Member[]>(Object.freeze([]));
  #state: State = 'new';
  #self: MemberInfo | undefined;
  #pg: typeof import('pg').default | undefined;
  #db: Client | undefined;
  #listener: Client | undefined;
  /** The renewal connection. */
  #beat: Client | undefined;
  readonly #sockets = new WeakMap<Client, Socket>();
  readonly #lease: LeaseClock;
  readonly #store: PostgresStore;
  #timers: NodeJS.Timeout[] = [];
  #expiryTimer: NodeJS.Timeout | undefined;
  #beating = false;
  /** The tail of the queries queued on the query connection. */
  #queue: Promise<void> = Promise.resolve();
  /** A read is running; `#again` asks for one more after it. */
  #reading: Promise<void> | undefined;
  #again = false;
  #seen = '';

  constructor(options: PostgresMembershipOptions, schema: string, config: MembershipConfig) {
    this.#options = options;
    this.#schema = schema;
    this.#config = config;
    this.#lease = new LeaseClock(config.leaseMs - config.fenceMarginMs);
    this.#store = new PostgresStore({
      schema,
      lease: this.#lease,
      maxStateBytes: config.maxStateBytes,
      self: () => (this.#state === 'joined' ? this.#self?.keyId : undefined),
      database: async () => ({ query: (text, values) => this.#query(text, values) }),
    });
  }

  get placement(): Placement {
    return this.#store;
  }

  get state(): StateStore {
    return this.#store;
  }

  get members$(): Observable<readonly Member[]> {
    return this.#subject.asObservable();
  }

  members(): readonly Member[] {
    return this.#subject.value;
  }

  async join(self: MemberInfo): Promise<void> {
    this.#only('join');
    verifyMember(self, 'self');
    this.#self = freezeMember(self);
    let sentAt = 0;
    const started = await this.#start('joining', async (db) => {
      sentAt = performance.now();
      await this.#upsert(db);
    });
    if (!started) return; // left or closed meanwhile
    this.#state = 'joined';
    this.#lease.renewed(sentAt);
    this.#timers.push(
      setInterval(() => this.#heartbeat(), this.#config.heartbeatMs),
      setInterval(() => {
        this.#refresh();
        this.#cleanup();
      }, this.#config.refreshMs),
    );
  }

  async watch(): Promise<void> {
    this.#only('watch');
    if (!(await this.#start('starting', async () => {}))) return; // closed meanwhile
    this.#state = 'watching';
    this.#timers.push(setInterval(() => this.#refresh(), this.#config.refreshMs));
  }

  /** Throws INVALID_CONFIG unless this provider is new (one role per provider). */
  #only(role: 'join' | 'watch'): void {
    if (this.#state !== 'new')
      throw transportError('INVALID_CONFIG', `cluster: ${role} when ${this.#state} (one role per provider)`);
  }

  /**
   * The start of a member (`register`: its row) or a watcher: `pg`, the query connection, the
   * migration, `register`, the LISTEN connection and the first read, in state `state`. False when the
   * provider was left or closed meanwhile. On a failure the provider is spent and the error thrown.
   */
  async #start(state: 'joining' | 'starting', register: (db: Queryable) => Promise<void>): Promise<boolean> {
    this.#state = state;
    try {
      this.#pg = (await import('pg')).default;
      const db = await this.#database();
      await migrate(db, this.#schema);
      await register(db);
      await this.#listen();
      await this.#read();
    } catch (err) {
      this.#state = 'done';
      this.#lease.end();
      await this.#release();
      this.#subject.complete();
      throw err;
    }
    if (this.#state === state) return true;
    await this.#release(); // a connection opened after the leave or close
    return false;
  }

  async update(change: Partial<Omit<MemberInfo, 'keyId'>>): Promise<void> {
    if (this.#state !== 'joined' || !this.#self)
      throw transportError('INVALID_CONFIG', 'cluster: update before join');
    const next = { ...this.#self, ...change, keyId: this.#self.keyId };
    verifyMember(next, 'self');
    this.#self = freezeMember(next);
    const sentAt = performance.now();
    await this.#upsert({ query: (text, values) => this.#query(text, values) });
    if (this.#state === 'joined') this.#lease.renewed(sentAt);
  }

  async leave(): Promise<void> {
    const was = this.#state;
    if (was === 'done') return;
    this.#state = 'done';
    this.#stopTimers();
    this.#lease.end();
    try {
      // Through the query queue: after the claims and saves before it, and bounded by queryTimeoutMs
      // (and connectTimeoutMs), so a hung database cannot hold a leaving node.
      if ((was === 'joining' || was === 'joined') && this.#self) {
        await this.#query(`DELETE FROM ${this.#schema}.members WHERE key_id = $1`, [this.#self.keyId]);
      }
    } finally {
      await this.#release();
      this.#subject.complete();
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.#stopTimers();
    this.#lease.end();
    await this.#release();
    this.#subject.complete();
  }

  /**
   * One query on the query connection, after the ones queued before it (pg runs one query at a time
   * per connection): claims, state and reads share it. Rejects with pg's error when it fails or the
   * connection cannot be opened within connectTimeoutMs, and with an Error naming queryTimeoutMs when,
   * once connected, it runs longer than that: its connection is then destroyed, and the queries queued
   * behind it run on a new one.
   */
  #query<R extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }> {
    const ms = this.#config.queryTimeoutMs;
    const run = this.#queue.then(async () => {
      const db = await this.#database();
      return this.#timed(
        db.query<R>(text, values),
        ms,
        () => db,
        () => new Error(`query took longer than ${ms} ms (queryTimeoutMs); its connection was dropped`),
      );
    });
    this.#queue = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** The query connection, opened (again) when missing. */
  async #database(): Promise<Client> {
    if (this.#db) return this.#db;
    const db = await this.#connect((lost) => {
      if (this.#db === lost) this.#db = undefined;
    });
    this.#db = db;
    return db;
  }

  /** The renewal connection, opened (again) when missing. */
  async #beatDatabase(): Promise<Client> {
    if (this.#beat) return this.#beat;
    const db = await this.#connect((lost) => {
      if (this.#beat === lost) this.#beat = undefined;
    });
    if (this.#state === 'done') {
      await db.end().catch(() => {});
      throw new Error('cluster: membership left or closed');
    }
    this.#beat = db;
    return db;
  }

  /**
   * A connected client that calls `lost` with itself when its connection fails or ends (which may be
   * during the connect). Rejects with pg's error when it cannot connect within connectTimeoutMs.
   */
  async #connect(lost: (client: Client) => void): Promise<Client> {
    const pg = this.#pg!;
    const c = this.#options.connection;
    const base: ClientConfig = typeof c === 'string' ? { connectionString: c } : { ...c };
    // Our own socket (pg's documented `stream` option), so that a hung connection can be destroyed.
    const socket = new Socket();
    const client = new pg.Client({
      ...base,
      connectionTimeoutMillis: this.#config.connectTimeoutMs,
      stream: () => socket,
    });
    this.#sockets.set(client, socket);
    client.on('error', (err) => {
      lost(client);
      this.#report(err);
    });
    client.on('end', () => lost(client));
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    return client;
  }

  /** Opens the listening connection (again) when missing, and LISTENs. */
  async #listen(): Promise<void> {
    if (this.#listener) return;
    const listener = await this.#connect((lost) => {
      if (this.#listener === lost) this.#listener = undefined;
    });
    listener.on('notification', () => this.#refresh());
    await listener.query(`LISTEN ${membersChannel(this.#schema)}`);
    if (this.#state === 'done') {
      await listener.end().catch(() => {});
      return;
    }
    this.#listener = listener;
  }

  /** Writes this node's row and renews its lease (recreating the row if it was removed). */
  async #upsert(db: Queryable): Promise<void> {
    const s = this.#self!;
    await db.query(
      `INSERT INTO ${this.#schema}.members AS m
         (key_id, tls_host, tls_port, ws_url, actors, load, lease_expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + $7 * interval '1 millisecond')
       ON CONFLICT (key_id) DO UPDATE SET
         tls_host = excluded.tls_host, tls_port = excluded.tls_port, ws_url = excluded.ws_url,
         actors = excluded.actors, load = excluded.load,
         joined_at = CASE WHEN m.lease_expires_at > now() THEN m.joined_at ELSE now() END,
         renewed_at = now(), lease_expires_at = excluded.lease_expires_at`,
      [
        s.keyId,
        s.addresses.tls?.host ?? null,
        s.addresses.tls?.port ?? null,
        s.addresses.ws ?? null,
        [...s.actors],
        s.load,
        this.#config.leaseMs,
      ],
    );
  }

  /**
   * One renewal on the renewal connection, within heartbeatTimeoutMs (connecting included): past it,
   * that connection is destroyed and the failure reported. A success makes the lease valid until its
   * send time + leaseMs - fenceMarginMs.
   */
  #heartbeat(): void {
    if (this.#state !== 'joined' || this.#beating) return;
    this.#beating = true;
    const sentAt = performance.now();
    const ms = this.#config.heartbeatTimeoutMs;
    this.#timed(
      this.#beatDatabase().then((db) => this.#upsert(db)),
      ms,
      () => this.#beat,
      () => new Error(`cluster: lease renewal took longer than ${ms} ms (heartbeatTimeoutMs)`),
    )
      .then(() => {
        if (this.#state === 'joined') this.#lease.renewed(sentAt);
      })
      .catch((err) => this.#report(err))
      .finally(() => {
        this.#beating = false;
      });
  }

  /**
   * `work`, given `ms`. Past that, the connection `stuck()` names (the one `work` hangs on, if any) is
   * destroyed (its socket, so a hung server cannot hold it) and taken out of its slot at once, so the
   * next use opens a new one; and the result rejects with `late()`. What the server does with a
   * statement it was running then is unknown to this node: it may still complete it.
   */
  #timed<T>(work: Promise<T>, ms: number, stuck: () => Client | undefined, late: () => Error): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const client = stuck();
        if (client) {
          if (this.#db === client) this.#db = undefined;
          if (this.#beat === client) this.#beat = undefined;
          this.#sockets.get(client)?.destroy();
        }
        reject(late());
      }, ms);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * Deletes member rows expired for longer than expiredRetentionMs (their claims go with them: ON
   * DELETE CASCADE), unless another node is doing it now (a transaction-scoped advisory lock, tried).
   */
  #cleanup(): void {
    if (this.#state !== 'joined') return;
    this.#query(
      `WITH lock AS (SELECT pg_try_advisory_xact_lock(hashtext($1)) AS got)
           DELETE FROM ${this.#schema}.members
            WHERE (SELECT got FROM lock) AND lease_expires_at < now() - $2 * interval '1 millisecond'`,
      [`rxchan.cleanup:${this.#schema}`, this.#config.expiredRetentionMs],
    ).catch((err) => this.#report(err));
  }

  /** A read now (or right after the one running), and the listener back if it was lost. */
  #refresh(): void {
    if (this.#state !== 'joined' && this.#state !== 'watching') return;
    if (!this.#listener) this.#listen().catch((err) => this.#report(err));
    this.#read().catch((err) => this.#report(err));
  }

  /** Reads the live members and emits them if they changed. At most one read runs at a time. */
  #read(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#again = false;
          await this.#readOnce();
        } while (this.#again && this.#state !== 'done');
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  async #readOnce(): Promise<void> {
    const { rows } = await this.#query<MemberRow>(
      `SELECT key_id, tls_host, tls_port, ws_url, actors, load,
              (extract(epoch FROM lease_expires_at - now()) * 1000)::float8 AS remaining_ms
         FROM ${this.#schema}.members WHERE lease_expires_at > now()`,
    );
    if (this.#state === 'done') return;
    const members: Member[] = [];
    for (const r of rows) {
      const m = toMember(r);
      if (m) members.push(m);
    }
    const list = sortMembers(members);
    // Time the next read to the earliest expiry, by the database's clock (remaining_ms).
    clearTimeout(this.#expiryTimer);
    const soonest = Math.min(...members.map((m) => m.leaseRemainingMs!), this.#config.refreshMs);
    this.#expiryTimer = setTimeout(() => this.#refresh(), Math.max(1, Math.ceil(soonest) + 5));
    const key = JSON.stringify(list.map(({ leaseRemainingMs: _, ...rest }) => rest));
    if (key === this.#seen) return;
    this.#seen = key;
    this.#subject.next(list);
  }

  #stopTimers(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    clearTimeout(this.#expiryTimer);
  }

  async #release(): Promise<void> {
    const clients = [this.#listener, this.#db, this.#beat];
    this.#listener = undefined;
    this.#db = undefined;
    this.#beat = undefined;
    // A connection whose query hangs may never finish ending: its socket is destroyed after a second.
    await Promise.all(
      clients.map(async (c) => {
        if (!c) return;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          c.end().catch(() => {}),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, 1_000);
          }),
        ]);
        clearTimeout(timer);
        this.#sockets.get(c)?.destroy();
      }),
    );
  }

  #report(err: unknown): void {
    if (this.#state === 'done') return;
    try {
      this.#options.onError?.(err);
    } catch {
      // onError's own throw goes nowhere: the provider carries on.
    }
  }
}

/** A row as a member, or undefined for a row that is not well-formed (skipped, never trusted). */
function toMember(r: MemberRow): Member | undefined {
  const info: MemberInfo = {
    keyId: r.key_id,
    addresses: {
      ...(r.tls_host !== null && r.tls_port !== null ? { tls: { host: r.tls_host, port: r.tls_port } } : {}),
      ...(r.ws_url !== null ? { ws: r.ws_url } : {}),
    },
    actors: r.actors,
    load: r.load,
  };
  try {
    verifyMember(info, 'row');
  } catch {
    return undefined;
  }
  return freezeMember(info, { leaseRemainingMs: r.remaining_ms });
}
