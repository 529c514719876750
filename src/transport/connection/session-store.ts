/**
 * Where a dialer keeps TLS session tickets for resumption, one per (our identity, server address).
 * A ticket is stored together with the server key that was verified on the connection that issued it:
 * Node does not show the server's certificate on a resumed session, and the key recorded here is the
 * trustworthy substitute (only the server that issued the ticket can complete a resumption with it).
 */
import { hostPort, type Identity } from '../../auth/index.js';

/** One stored ticket. */
export interface StoredSession {
  /** Node's serialized TLS session (the `session` event / `session` option of `tls.connect`). */
  readonly ticket: Buffer;
  /** The server key verified on the connection that issued the ticket. */
  readonly serverKey: Uint8Array;
  /** When to forget the ticket, ms since the epoch. */
  readonly expiresAt: number;
}

/** Default bound on stored tickets (oldest forgotten first). */
export const DEFAULT_MAX_SESSIONS = 1024;

/**
 * A bounded, in-memory ticket store. Tickets are secrets (they resume a session as us), so they are
 * never written to disk.
 */
export class SessionStore {
  readonly maxEntries: number;
  readonly #entries = new Map<string, StoredSession>();

  constructor(options: { maxEntries?: number } = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_SESSIONS;
  }

  /** The key a dialer files its ticket under. */
  static keyFor(identity: Identity, host: string, port: number): string {
    return `${identity.id} ${hostPort(host, port)}`;
  }

  /** The ticket under `key`, or undefined (an expired ticket is dropped). */
  get(key: string, now = Date.now()): StoredSession | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: StoredSession): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** The store dialers use when no `session` option is given. */
export const defaultSessionStore = new SessionStore();
