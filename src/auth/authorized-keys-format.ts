/**
 * The authorized-keys text format (pure; no I/O). Like ssh's authorized_keys, one key per line:
 *
 *     # comments and blank lines are ignored
 *     <public key, base64url> <name>
 *     @admin <public key, base64url> <name>
 *
 * A plain line lets that key connect, and gives the connection its name (the rest of the line,
 * trimmed). An `@admin` line does not let the key connect: it trusts the key to sign grants
 * (delegations, see grant.ts) for other keys. Any malformed line, or the same key twice with the
 * same marker, fails the whole text: a trust list is either exactly what was written or rejected.
 */
import { authError } from './errors.js';
import { decodeKey } from './key-text.js';

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

/**
 * Parses authorized-keys text. Throws AuthError AUTHORIZED_KEYS_INVALID naming `source` and the line:
 * a key that is not 43 base64url characters, a missing or too long name, an unknown `@` marker, a
 * duplicate key.
 */
export function parseAuthorizedKeys(text: string, source = 'authorized keys'): AuthorizedKey[] {
  const out: AuthorizedKey[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const no = i + 1;
    const fail = (why: string): never => {
      throw authError('AUTHORIZED_KEYS_INVALID', `${source}:${no}: ${why}`, { line: no });
    };
    let rest = line;
    let admin = false;
    if (rest.startsWith('@')) {
      const marker = rest.split(/\s/, 1)[0]!;
      if (marker !== ADMIN_MARKER) fail(`unknown marker ${JSON.stringify(marker)} (only ${ADMIN_MARKER})`);
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
      return fail((err as Error).message);
    }
    const problem = nameProblem(name);
    if (problem) fail(problem);
    const seenKey = `${admin ? 'admin' : 'key'} ${keyText}`;
    if (seen.has(seenKey)) fail(`duplicate ${admin ? 'admin ' : ''}key ${keyText}`);
    seen.add(seenKey);
    out.push({ publicKey, id: keyText, name, admin });
  }
  return out;
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
