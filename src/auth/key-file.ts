/**
 * The key file format (pure; file I/O lives in identity.ts). One key line, `#` comments:
 *
 *     # rxchan identity: an ed25519 secret key. Keep it private (mode 0600).
 *     # public key: <id>
 *     rxchan-ed25519-v1 <seed, base64url> <public key, base64url>
 *
 * The public key on the key line lets a reader detect a damaged or hand-edited seed.
 */
import nacl from 'tweetnacl';
import { authError } from './errors.js';
import { decodeKey, encodeKey, fingerprint } from './key-text.js';

/** The tag that starts the key line; the version is in the tag so a later format can coexist. */
export const KEY_FILE_TAG = 'rxchan-ed25519-v1';
/** Largest key file we read, bytes: a key file is a few hundred bytes, anything larger is not one. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/** The text of a key file for `seed`. */
export function formatKeyFile(seed: Uint8Array): string {
  const publicKey = nacl.sign.keyPair.fromSeed(seed).publicKey;
  const id = encodeKey(publicKey);
  return [
    '# rxchan identity: an ed25519 secret key. Keep it private (mode 0600).',
    `# public key: ${id}`,
    `# fingerprint: ${fingerprint(publicKey)}`,
    `${KEY_FILE_TAG} ${encodeKey(seed)} ${id}`,
    '',
  ].join('\n');
}

/**
 * The seed in a key file's text. Throws AuthError KEY_FILE_INVALID (naming `file`) when there is not
 * exactly one well-formed key line or when its public key does not belong to its seed.
 */
export function parseKeyFile(text: string, file = 'key file'): Uint8Array {
  const lines = text
    .split(/\r?\n/)
    .map((line, i) => ({ text: line.trim(), no: i + 1 }))
    .filter((line) => line.text !== '' && !line.text.startsWith('#'));
  if (lines.length !== 1) {
    throw authError(
      'KEY_FILE_INVALID',
      `${file}: expected one "${KEY_FILE_TAG} <seed> <public key>" line, found ${lines.length} key lines`,
      { file },
    );
  }
  const { text: line, no } = lines[0]!;
  const fields = line.split(/\s+/);
  if (fields.length !== 3 || fields[0] !== KEY_FILE_TAG) {
    throw authError('KEY_FILE_INVALID', `${file}:${no}: expected "${KEY_FILE_TAG} <seed> <public key>"`, {
      file,
      line: no,
    });
  }
  let seed: Uint8Array;
  let publicKey: Uint8Array;
  try {
    seed = decodeKey(fields[1]!, 'seed');
    publicKey = decodeKey(fields[2]!, 'public key');
  } catch (err) {
    throw authError('KEY_FILE_INVALID', `${file}:${no}: ${(err as Error).message}`, {
      file,
      line: no,
      cause: err,
    });
  }
  if (encodeKey(nacl.sign.keyPair.fromSeed(seed).publicKey) !== encodeKey(publicKey)) {
    throw authError(
      'KEY_FILE_INVALID',
      `${file}:${no}: the public key does not belong to the seed (damaged file?)`,
      {
        file,
        line: no,
      },
    );
  }
  return seed;
}
