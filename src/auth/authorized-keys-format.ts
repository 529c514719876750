/**
 * The authorized-keys text format (pure; no I/O). Like ssh's authorized_keys, one key per line:
 *
 *     # comments and blank lines are ignored
 *     <public key, base64url> <name>
 *     @admin <public key, base64url> <name>
 *
 * A plain line lets that key connect, and gives the connection its name (the rest of the line,
 * trimmed). An `@admin` line does not let the key connect: it trusts the key to sign grants
 * (delegations, see grant.ts) for other keys. A malformed line, or the same key again with the same
 * marker (its first line wins), grants nothing: like sshd, a file is read line by line and a bad line
 * only loses its own key ({@link readAuthorizedKeys}); {@link parseAuthorizedKeys} is the strict form.
 */
import { type AuthError, authError } from './errors.js';
import { decodeKey, encodeKey, toKeyBytes } from './key-codec.js';

/** The marker of a line that trusts a key to sign grants. */
export const ADMIN_MARKER = '@admin';
/** Longest name, characters. */
export const MAX_NAME_LENGTH = 128;

/** One line of an authorized-keys text. */
export interface AuthorizedKey {
  readonly publicKey: Uint8Array;
  /** base64url text of the key. */
  readonly id: string;
  readonly name: string;
  /** True for an `@admin` line. */
  readonly admin: boolean;
}

// Control characters would let a name forge log lines; names are for humans and logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** What a lenient read of authorized-keys text found. */
export interface AuthorizedKeysText {
  /** The well-formed lines, in order (for a duplicated key, its first line). */
  readonly entries: AuthorizedKey[];
  /** One AuthError AUTHORIZED_KEYS_INVALID per line that grants nothing, naming `source` and the line. */
  readonly problems: AuthError[];
}

/**
 * Reads authorized-keys text line by line: every well-formed line is kept, every other one is reported
 * in `problems` (a key that is not 43 base64url characters, a missing or too long name, an unknown `@`
 * marker, a key already given with the same marker) and grants nothing. Never throws.
 */
export function readAuthorizedKeys(text: string, source = 'authorized keys'): AuthorizedKeysText {
  const entries: AuthorizedKey[] = [];
  const problems: AuthError[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parsed = parseLine(line);
    const why =
      typeof parsed === 'string'
        ? parsed
        : seen.has(`${parsed.admin} ${parsed.id}`)
          ? `duplicate ${parsed.admin ? 'admin ' : ''}key ${parsed.id}`
          : undefined;
    if (why !== undefined) {
      problems.push(authError('AUTHORIZED_KEYS_INVALID', `${source}:${i + 1}: ${why}`, { line: i + 1 }));
      continue;
    }
    const entry = parsed as AuthorizedKey;
    seen.add(`${entry.admin} ${entry.id}`);
    entries.push(entry);
  }
  return { entries, problems };
}

/**
 * Parses authorized-keys text strictly (for text in code): throws the first problem
 * {@link readAuthorizedKeys} finds, AuthError AUTHORIZED_KEYS_INVALID naming `source` and the line.
 */
export function parseAuthorizedKeys(text: string, source = 'authorized keys'): AuthorizedKey[] {
  const { entries, problems } = readAuthorizedKeys(text, source);
  if (problems.length > 0) throw problems[0]!;
  return entries;
}

/** One non-empty, non-comment line: its entry, or why it is malformed. */
function parseLine(line: string): AuthorizedKey | string {
  let rest = line;
  let admin = false;
  if (rest.startsWith('@')) {
    const marker = rest.split(/\s/, 1)[0]!;
    if (marker !== ADMIN_MARKER) return `unknown marker ${JSON.stringify(marker)} (only ${ADMIN_MARKER})`;
    admin = true;
    rest = rest.slice(marker.length).trimStart();
  }
  const space = rest.search(/\s/);
  const keyText = space < 0 ? rest : rest.slice(0, space);
  const name = space < 0 ? '' : rest.slice(space).trim();
  let publicKey: Uint8Array;
  try {
    publicKey = decodeKey(keyText, 'key');
  } catch (err) {
    return (err as Error).message;
  }
  const problem = nameProblem(name);
  if (problem) return problem;
  return { publicKey, id: keyText, name, admin };
}

/** Why `name` cannot name a key, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'a name must follow the key ("<key> <name>")';
  if (name !== name.trim()) return 'name has leading or trailing white space';
  if (name.length > MAX_NAME_LENGTH) return `name longer than ${MAX_NAME_LENGTH} characters`;
  if (CONTROL.test(name)) return 'name contains control characters';
  return undefined;
}

/** The text of `entries`, one line each, which {@link parseAuthorizedKeys} reads back. */
export function formatAuthorizedKeys(entries: readonly AuthorizedKey[]): string {
  return entries.map((e) => `${e.admin ? `${ADMIN_MARKER} ` : ''}${e.id} ${e.name}\n`).join('');
}

/** One entry of a list in code. */
export interface AuthorizedKeyInput {
  /** The public key: 32 bytes or its base64url text. */
  key: Uint8Array | string;
  name: string;
  /** Trusted to sign grants (delegation) rather than to connect. Default false. */
  admin?: boolean;
}

/**
 * The entries of a list in code (or JSON). Throws AuthError INVALID_KEY for a malformed key,
 * AUTHORIZED_KEYS_INVALID for a duplicate, a bad name, or an entry that is not `{ key, name }` (the
 * message names the entry).
 */
export function listEntries(list: readonly AuthorizedKeyInput[]): AuthorizedKey[] {
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
