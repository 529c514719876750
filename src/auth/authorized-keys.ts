/**
 * The keys a listener lets in: from a file (reloadable without a restart) or from a list in code.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type AuthorizedKey, nameProblem, parseAuthorizedKeys } from './authorized-keys-format.js';
import { authError, isAuthError } from './errors.js';
import { encodeKey, toKeyBytes } from './key-text.js';

export type { AuthorizedKey } from './authorized-keys-format.js';

/** Largest authorized-keys file read, bytes (about 15,000 lines); larger is refused, not truncated. */
export const MAX_AUTHORIZED_KEYS_BYTES = 1024 * 1024;
/** Quiet time after the last file-system event before a watched file is reloaded, ms. */
export const WATCH_DEBOUNCE_MS = 100;

/** One entry of a list in code. */
export interface AuthorizedKeyInput {
  /** The public key: 32 bytes or its base64url text. */
  key: Uint8Array | string;
  name: string;
  /** Trusted to sign grants (delegation) rather than to connect. Default false. */
  admin?: boolean;
}

export interface LoadOptions {
  /** Reload when the file changes (fs.watch on its directory). Default false. */
  watch?: boolean;
  /**
   * Called when a reload fails (the previous keys stay in force). Default: `process.emitWarning`.
   * Must not throw.
   */
  onReloadError?: (err: Error) => void;
}

/**
 * The set of keys allowed to connect, with their names, and the admin keys trusted to sign grants.
 * A lookup always sees one whole version of the list: reloads replace it at once.
 *
 * ```ts
 * const keys = await AuthorizedKeys.load('authorized_keys', { watch: true });
 * keys.lookup(peerKey)?.name;
 * // Logs: 'alice'
 * ```
 */
export class AuthorizedKeys {
  /** The file this list was loaded from, or undefined for a list in code. */
  readonly file: string | undefined;
  #byId = new Map<string, AuthorizedKey>();
  #admins = new Map<string, AuthorizedKey>();
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #reloading: Promise<void> | undefined;
  #onReloadError: (err: Error) => void;

  private constructor(entries: readonly AuthorizedKey[], file?: string, options: LoadOptions = {}) {
    this.file = file;
    this.#onReloadError = options.onReloadError ?? ((err) => process.emitWarning(err));
    this.#replace(entries);
  }

  /** From authorized-keys text. Throws AuthError AUTHORIZED_KEYS_INVALID (see authorized-keys-format.ts). */
  static parse(text: string): AuthorizedKeys {
    return new AuthorizedKeys(parseAuthorizedKeys(text));
  }

  /**
   * From a list in code (or JSON). Throws AuthError INVALID_KEY for a malformed key, AUTHORIZED_KEYS_INVALID
   * for a duplicate, a bad name, or an entry that is not `{ key, name }` (the message names the entry).
   */
  static fromList(list: readonly AuthorizedKeyInput[]): AuthorizedKeys {
    return new AuthorizedKeys(toEntries(list));
  }

  /**
   * Reads an authorized-keys file. Rejects with AuthError AUTHORIZED_KEYS_INVALID for a malformed
   * file (naming it and the line), KEY_FILE_NOT_FOUND when it is missing.
   */
  static async load(file: string, options: LoadOptions = {}): Promise<AuthorizedKeys> {
    const keys = new AuthorizedKeys(await readKeysFile(file), file, options);
    if (options.watch) keys.watch();
    return keys;
  }

  /** The connect entry for `publicKey`, or undefined when the key may not connect. */
  lookup(publicKey: Uint8Array): AuthorizedKey | undefined {
    return publicKey.length === 32 ? this.#byId.get(encodeKey(publicKey)) : undefined;
  }

  /**
   * The connect entry for a key given as its base64url text (`id`, as in a PeerIdentity), or
   * undefined. Spares the handshake path encoding a key it already has as text.
   */
  lookupId(id: string): AuthorizedKey | undefined {
    return this.#byId.get(id);
  }

  /** The `@admin` entry for `publicKey`, or undefined when the key may not sign grants. */
  admin(publicKey: Uint8Array): AuthorizedKey | undefined {
    return publicKey.length === 32 ? this.#admins.get(encodeKey(publicKey)) : undefined;
  }

  /** Every entry, connect entries first. */
  entries(): AuthorizedKey[] {
    return [...this.#byId.values(), ...this.#admins.values()];
  }

  /** Number of keys that may connect. */
  get size(): number {
    return this.#byId.size;
  }

  /**
   * Re-reads the file. On failure (malformed, missing) the previous keys stay in force and the promise
   * rejects with the AuthError. Rejects with TypeError for a list in code (use {@link update}).
   */
  async reload(): Promise<void> {
    const file = this.file;
    if (file === undefined)
      throw new TypeError('this AuthorizedKeys was not loaded from a file; use update()');
    // Reloads run one at a time, so an older read can never overwrite a newer one.
    const previous = this.#reloading ?? Promise.resolve();
    const next = previous.then(async () => this.#replace(await readKeysFile(file)));
    this.#reloading = next.catch(() => undefined);
    return next;
  }

  /** Replaces a list in code. Throws like {@link fromList}; on a throw the previous keys stay. */
  update(list: readonly AuthorizedKeyInput[]): void {
    this.#replace(toEntries(list));
  }

  /**
   * Reloads the file whenever it changes (watching its directory, so editors that write a new file
   * and rename it are seen). The watcher does not keep the process alive. Idempotent.
   */
  watch(): this {
    const file = this.file;
    if (file === undefined) throw new TypeError('only a file-backed AuthorizedKeys can be watched');
    if (this.#watcher) return this;
    const name = basename(file);
    this.#watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => {
        this.reload().catch((err: Error) => this.#reportReloadError(err));
      }, WATCH_DEBOUNCE_MS);
      this.#debounce.unref();
    });
    this.#watcher.on('error', (err) => this.#reportReloadError(err));
    return this;
  }

  /** Stops watching. The keys stay usable. */
  close(): void {
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #replace(entries: readonly AuthorizedKey[]): void {
    const byId = new Map<string, AuthorizedKey>();
    const admins = new Map<string, AuthorizedKey>();
    for (const e of entries) (e.admin ? admins : byId).set(e.id, e);
    this.#byId = byId;
    this.#admins = admins;
  }

  #reportReloadError(err: Error): void {
    try {
      this.#onReloadError(err);
    } catch {
      // A throwing error hook must not break the watcher; the error was already reported to it.
    }
  }
}

function toEntries(list: readonly AuthorizedKeyInput[]): AuthorizedKey[] {
  // Lists often come from JSON config, so their shape is checked here rather than trusted to the types.
  if (!Array.isArray(list)) throw authError('AUTHORIZED_KEYS_INVALID', 'authorized keys must be a list');
  const seen = new Set<string>();
  return list.map((item: unknown, i) => {
    const shape = entryShapeProblem(item);
    if (shape) throw authError('AUTHORIZED_KEYS_INVALID', `authorized key #${i}: ${shape}`);
    const entry = item as AuthorizedKeyInput;
    const publicKey = toKeyBytes(entry.key, `authorized key #${i}`);
    const id = encodeKey(publicKey);
    const problem = nameProblem(entry.name);
    if (problem) throw authError('AUTHORIZED_KEYS_INVALID', `authorized key #${i}: ${problem}`);
    const admin = entry.admin === true;
    const seenKey = `${admin} ${id}`;
    if (seen.has(seenKey))
      throw authError('AUTHORIZED_KEYS_INVALID', `authorized key #${i}: duplicate key ${id}`);
    seen.add(seenKey);
    return { publicKey, id, name: entry.name, admin };
  });
}

/** What is wrong with the shape of one list entry (not its values), or undefined. */
function entryShapeProblem(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return 'an entry must be an object { key, name }';
  const { key, name } = item as Record<string, unknown>;
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
    return 'key must be base64url text or 32 bytes';
  }
  if (typeof name !== 'string') return 'name must be a string';
  return undefined;
}

async function readKeysFile(file: string): Promise<AuthorizedKey[]> {
  let text: string;
  try {
    const info = await stat(file);
    if (info.size > MAX_AUTHORIZED_KEYS_BYTES) {
      throw authError(
        'AUTHORIZED_KEYS_INVALID',
        `${file} is ${info.size} bytes, above the ${MAX_AUTHORIZED_KEYS_BYTES} limit`,
        { file },
      );
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw authError('KEY_FILE_NOT_FOUND', `authorized keys file ${file} not found`, { file, cause: err });
    }
    throw err;
  }
  try {
    return parseAuthorizedKeys(text, file);
  } catch (err) {
    if (!isAuthError(err)) throw err;
    throw authError(err.code, err.message, { file, ...(err.line === undefined ? {} : { line: err.line }) });
  }
}
