/**
 * The servers a dialer trusts, by address: a known-hosts file, like ssh's.
 *
 *     # comments and blank lines are ignored
 *     <host>:<port> <server public key, base64url>
 *     [::1]:4433 <key>                       # IPv6 hosts in brackets
 *
 * A host may have several lines (a key rotation in progress): any of its keys is accepted. Trust on
 * first use appends a line; nothing else writes the file.
 */
import { appendFile, open, readFile } from 'node:fs/promises';
import { authError } from './errors.js';
import { decodeKey, encodeKey, keysEqual } from './key-text.js';

/** Largest known-hosts file read, bytes. */
export const MAX_KNOWN_HOSTS_BYTES = 1024 * 1024;

/** One line of a known-hosts text. */
export interface KnownHost {
  /** `host:port`, or `[host]:port` for IPv6 (see {@link hostPort}). */
  readonly address: string;
  readonly publicKey: Uint8Array;
}

/** The address text of a host and port as written in known-hosts files. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** Parses known-hosts text. Throws AuthError KNOWN_HOSTS_INVALID naming `source` and the line. */
export function parseKnownHosts(text: string, source = 'known hosts'): KnownHost[] {
  const out: KnownHost[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const fail = (why: string, cause?: unknown): never => {
      throw authError('KNOWN_HOSTS_INVALID', `${source}:${i + 1}: ${why}`, { line: i + 1, cause });
    };
    const fields = line.split(/\s+/);
    if (fields.length !== 2) fail('expected "<host>:<port> <key>"');
    const m = ADDRESS.exec(fields[0]!);
    if (!m || Number(m[2]) > 65535) fail(`bad address ${JSON.stringify(fields[0])}`);
    try {
      out.push({ address: fields[0]!, publicKey: decodeKey(fields[1]!, 'key') });
    } catch (err) {
      fail((err as Error).message, err);
    }
  }
  return out;
}

/**
 * A known-hosts list, file-backed or in memory.
 *
 * ```ts
 * const hosts = await KnownHosts.load('known_hosts');
 * hosts.check('127.0.0.1', 4433, serverKey);
 * // Logs: 'known' | 'unknown' | 'mismatch'
 * ```
 */
export class KnownHosts {
  readonly file: string | undefined;
  #entries: KnownHost[];

  private constructor(entries: KnownHost[], file?: string) {
    this.#entries = entries;
    this.file = file;
  }

  static parse(text: string): KnownHosts {
    return new KnownHosts(parseKnownHosts(text));
  }

  /** Reads a known-hosts file; a missing file is an empty list (trust on first use will create it). */
  static async load(file: string): Promise<KnownHosts> {
    return new KnownHosts(await readHostsFile(file), file);
  }

  /** The keys trusted for `host:port` (empty when unknown). */
  keysFor(host: string, port: number): Uint8Array[] {
    const address = hostPort(host, port);
    return this.#entries.filter((e) => e.address === address).map((e) => e.publicKey);
  }

  /** Whether `publicKey` is a trusted key of `host:port`, another key is, or the host is unknown. */
  check(host: string, port: number, publicKey: Uint8Array): 'known' | 'unknown' | 'mismatch' {
    const keys = this.keysFor(host, port);
    if (keys.length === 0) return 'unknown';
    return keys.some((k) => keysEqual(k, publicKey)) ? 'known' : 'mismatch';
  }

  /**
   * Trusts `publicKey` for `host:port` from now on: appends a line to the file (created with mode 0600
   * if missing) and to the list in memory. Re-reads the file first so a line another process added is
   * not duplicated. Rejects with the file-system error if the file cannot be written.
   */
  async add(host: string, port: number, publicKey: Uint8Array): Promise<void> {
    const address = hostPort(host, port);
    if (this.file !== undefined) {
      this.#entries = await readHostsFile(this.file);
      if (!this.#entries.some((e) => e.address === address && keysEqual(e.publicKey, publicKey))) {
        await ensureFile(this.file);
        await appendFile(this.file, `${address} ${encodeKey(publicKey)}\n`, 'utf8');
      }
    }
    if (!this.#entries.some((e) => e.address === address && keysEqual(e.publicKey, publicKey))) {
      this.#entries.push({ address, publicKey: Uint8Array.from(publicKey) });
    }
  }

  entries(): KnownHost[] {
    return [...this.#entries];
  }
}

async function readHostsFile(file: string): Promise<KnownHost[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  if (Buffer.byteLength(text) > MAX_KNOWN_HOSTS_BYTES) {
    throw authError('KNOWN_HOSTS_INVALID', `${file} is larger than ${MAX_KNOWN_HOSTS_BYTES} bytes`, { file });
  }
  return parseKnownHosts(text, file);
}

/** Creates `file` with mode 0600 if it does not exist; makes sure a non-empty file ends in a newline. */
async function ensureFile(file: string): Promise<void> {
  const handle = await open(file, 'a+', 0o600);
  try {
    const { size } = await handle.stat();
    if (size === 0) return;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    if (last[0] !== 0x0a) await handle.appendFile('\n');
  } finally {
    await handle.close();
  }
}
