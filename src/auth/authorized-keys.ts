/**
 * The keys a listener lets in: from a file (reloadable without a restart) or from a list in code.
 *
 * A file is read like sshd reads authorized_keys: line by line, a bad line losing only its own key
 * (and reported), and only if nobody but its owner could have written it (StrictModes).
 */
import { type FSWatcher, type Stats, watch } from 'node:fs';
import { type FileHandle, open, realpath, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  type AuthorizedKey,
  type AuthorizedKeyInput,
  type AuthorizedKeysText,
  parseAuthorizedKeys,
  readAuthorizedKeys,
  listEntries as toEntries,
} from './authorized-keys-format.js';
import { type AuthError, authError } from './errors.js';
import { encodeKey } from './key-text.js';

export type { AuthorizedKey, AuthorizedKeyInput } from './authorized-keys-format.js';

/** Largest authorized-keys file read, bytes (about 15,000 lines); larger is refused, not truncated. */
export const MAX_AUTHORIZED_KEYS_BYTES = 1024 * 1024;
/** Quiet time after the last file-system event before a watched file is reloaded, ms. */
export const WATCH_DEBOUNCE_MS = 100;

export interface LoadOptions {
  /** Reload when the file changes (fs.watch on its directory). Default false. */
  watch?: boolean;
  /**
   * Called with every problem, as soon as it is found: each line that grants nothing (AuthError
   * AUTHORIZED_KEYS_INVALID, with `file` and `line`), at load and at every reload; and each reload
   * that failed as a whole (the file is missing, too large, unreadable or unsafe: then nobody may
   * connect until a reload succeeds). Default: `process.emitWarning`. Must not throw.
   */
  onError?: (err: Error) => void;
  /** @deprecated Use `onError`, which receives the same errors (and the bad lines too). */
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
  #reloading: Promise<unknown> | undefined;
  #onError: (err: Error) => void;

  private constructor(entries: readonly AuthorizedKey[], file?: string, options: LoadOptions = {}) {
    this.file = file;
    this.#onError = options.onError ?? options.onReloadError ?? ((err) => process.emitWarning(err));
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
   * Reads an authorized-keys file. Every well-formed line is applied; each malformed or duplicate one
   * is passed to `onError` (AUTHORIZED_KEYS_INVALID naming the file and line) and grants nothing.
   * Rejects with AuthError KEY_FILE_NOT_FOUND (missing, not a regular file), AUTHORIZED_KEYS_INVALID
   * (above MAX_AUTHORIZED_KEYS_BYTES), AUTHORIZED_KEYS_PERMISSIONS (others could have written it:
   * see {@link checkFileSafety}), or the file-system error.
   */
  static async load(file: string, options: LoadOptions = {}): Promise<AuthorizedKeys> {
    const { entries, problems } = await readKeysFile(file);
    const keys = new AuthorizedKeys(entries, file, options);
    for (const problem of problems) keys.#report(problem);
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
   * Re-reads the file and replaces the keys with what it says now, so a removed line always stops
   * granting. Each bad line grants nothing and is passed to `onError`; they are also the result. If the
   * file cannot be used as a whole (missing, too large, unreadable, or unsafe as at {@link load}),
   * nobody may connect until a reload succeeds: the keys are emptied, the error goes to `onError`, and
   * the promise rejects with it. Rejects with TypeError for a list in code (use {@link update}).
   */
  async reload(): Promise<AuthError[]> {
    const file = this.file;
    if (file === undefined)
      throw new TypeError('this AuthorizedKeys was not loaded from a file; use update()');
    // Reloads run one at a time, so an older read can never overwrite a newer one.
    const previous = this.#reloading ?? Promise.resolve();
    const next = previous.then(async () => {
      let read: AuthorizedKeysText;
      try {
        read = await readKeysFile(file);
      } catch (err) {
        // Fail closed: what the file says now is unknown, and the old list may hold revoked keys.
        this.#replace([]);
        this.#report(err as Error);
        throw err;
      }
      this.#replace(read.entries);
      for (const problem of read.problems) this.#report(problem);
      return read.problems;
    });
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
        this.reload().catch(() => undefined); // reported to onError by reload()
      }, WATCH_DEBOUNCE_MS);
      this.#debounce.unref();
    });
    this.#watcher.on('error', (err) => this.#report(err));
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

  #report(err: Error): void {
    try {
      this.#onError(err);
    } catch {
      // A throwing error hook must not break a reload or the watcher; the error was already reported to it.
    }
  }
}

/**
 * Reads and parses an authorized-keys file, checking the opened file itself (so a file swapped in
 * between the check and the read cannot slip past). Bad lines come back as problems naming the file;
 * whole-file failures reject as described at {@link AuthorizedKeys.load}.
 */
async function readKeysFile(file: string): Promise<AuthorizedKeysText> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw authError('KEY_FILE_NOT_FOUND', `authorized keys file ${file} not found`, { file, cause: err });
    }
    throw err;
  }
  let text: string;
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw authError('KEY_FILE_NOT_FOUND', `authorized keys file ${file} is not a regular file`, { file });
    }
    await checkFileSafety(file, info);
    const tooLarge = (size: number) =>
      authError(
        'AUTHORIZED_KEYS_INVALID',
        `${file} is ${size} bytes, above the ${MAX_AUTHORIZED_KEYS_BYTES} limit`,
        { file },
      );
    if (info.size > MAX_AUTHORIZED_KEYS_BYTES) throw tooLarge(info.size);
    const bytes = await handle.readFile();
    if (bytes.length > MAX_AUTHORIZED_KEYS_BYTES) throw tooLarge(bytes.length); // grew since stat
    text = bytes.toString('utf8');
  } finally {
    await handle.close();
  }
  const { entries, problems } = readAuthorizedKeys(text, file);
  return {
    entries,
    problems: problems.map((p) =>
      authError(p.code, p.message, { file, ...(p.line === undefined ? {} : { line: p.line }) }),
    ),
  };
}

/**
 * Throws AuthError AUTHORIZED_KEYS_PERMISSIONS when someone other than its owner could have written
 * the file (`info` is its fstat): it is writable by group or others, it is owned by neither this
 * process's user nor root, or the directory it is in (after following links) is writable by group
 * or others without the sticky bit (anyone could put another file in its place). As sshd's
 * StrictModes, for the file itself and its directory. Not checked on Windows (no modes).
 */
async function checkFileSafety(file: string, info: Stats): Promise<void> {
  if (process.platform === 'win32') return;
  const refuse = (why: string, fix: string) =>
    authError(
      'AUTHORIZED_KEYS_PERMISSIONS',
      `authorized keys file ${file}: ${why}; anyone who can write it can let any key in. Fix: ${fix}`,
      { file },
    );
  const mode = (m: number) => (m & 0o7777).toString(8).padStart(4, '0');
  if ((info.mode & 0o022) !== 0) {
    throw refuse(`writable by group or others (mode ${mode(info.mode)})`, `chmod go-w ${file}`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid && info.uid !== 0) {
    throw refuse(
      `owned by uid ${info.uid}, neither this process's user (uid ${uid}) nor root`,
      `chown ${uid} ${file}`,
    );
  }
  const dir = dirname(await realpath(file));
  const dirInfo = await stat(dir);
  if ((dirInfo.mode & 0o022) !== 0 && (dirInfo.mode & 0o1000) === 0) {
    throw refuse(
      `its directory ${dir} is writable by group or others (mode ${mode(dirInfo.mode)}), so the file can be replaced`,
      `chmod go-w ${dir}`,
    );
  }
}
