/**
 * An ed25519 identity: the key pair a node proves itself with. Its public key is the node's name on the
 * network; the same key signs the node's TLS certificates (see certificate.ts).
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject, randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import nacl from 'tweetnacl';
import { type AuthError, authError } from './errors.js';
import { formatKeyFile, MAX_KEY_FILE_BYTES, parseKeyFile } from './key-file.js';
import { encodeKey, fingerprint, SEED_LENGTH, SIGNATURE_LENGTH, toKeyBytes } from './key-text.js';

/** Who a peer is, as proven by its certificate (and, on a server, what the authorized keys call it). */
export interface PeerIdentity {
  /** The peer's ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** base64url text of `publicKey`. */
  readonly id: string;
  /** Short fingerprint for logs. */
  readonly fingerprint: string;
  /** The name the authorized keys (or a grant) give this key; undefined when the peer is a server we pinned. */
  readonly name: string | undefined;
}

/** Mode bits that must be clear on a key file: any access for group or others. */
const GROUP_OTHER_BITS = 0o077;

// The seed never leaves this module except through secretSeed(), which auth/certificate.ts uses to
// hand the key to Node's TLS. Keeping it off the object keeps it out of logs, JSON and inspection.
const seeds = new WeakMap<Identity, Uint8Array>();

/**
 * An ed25519 key pair.
 *
 * ```ts
 * const me = Identity.generate();
 * await me.save('node.key');               // mode 0600; refuses to overwrite
 * const again = await Identity.load('node.key');
 * console.log(again.id === me.id);
 * // Logs: true
 * ```
 */
export class Identity {
  /** The public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** base64url text of the public key: how keys are written in authorized-keys and known-hosts files. */
  readonly id: string;
  /** Short fingerprint (`SHA256:` + 16 characters) for logs and prompts. */
  readonly fingerprint: string;
  readonly #secretKey: Uint8Array;

  private constructor(seed: Uint8Array) {
    const pair = nacl.sign.keyPair.fromSeed(seed);
    this.publicKey = pair.publicKey;
    this.#secretKey = pair.secretKey;
    this.id = encodeKey(pair.publicKey);
    this.fingerprint = fingerprint(pair.publicKey);
    seeds.set(this, Uint8Array.from(seed));
  }

  /** A new random identity (tweetnacl's CSPRNG, which is Node's crypto.randomBytes). */
  static generate(): Identity {
    return new Identity(nacl.randomBytes(SEED_LENGTH));
  }

  /** The identity derived from a 32-byte seed. Throws AuthError INVALID_KEY for another length. */
  static fromSeed(seed: Uint8Array): Identity {
    return new Identity(toKeyBytes(seed, 'seed'));
  }

  /**
   * Reads a key file written by {@link Identity.save}. Rejects with AuthError:
   * KEY_FILE_NOT_FOUND (missing or not a regular file), KEY_FILE_PERMISSIONS (group or others have any
   * access: the message says `chmod 600 FILE`), KEY_FILE_INVALID (not a key file).
   * The mode is checked on the opened file itself (after following links), so a file swapped in
   * between the check and the read cannot slip past.
   */
  static async load(file: string): Promise<Identity> {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      throw fileError(err, file);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw authError('KEY_FILE_NOT_FOUND', `${file} is not a regular file`, { file });
      if (process.platform !== 'win32' && (stat.mode & GROUP_OTHER_BITS) !== 0) {
        const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
        throw authError(
          'KEY_FILE_PERMISSIONS',
          `key file ${file} is accessible by group or others (mode ${mode}); a secret key must be private. ` +
            `Fix: chmod 600 ${file}`,
          { file },
        );
      }
      if (stat.size > MAX_KEY_FILE_BYTES) {
        throw authError('KEY_FILE_INVALID', `${file} is ${stat.size} bytes, too large for a key file`, {
          file,
        });
      }
      const text = await handle.readFile('utf8');
      return new Identity(parseKeyFile(text, file));
    } finally {
      await handle.close();
    }
  }

  /**
   * Writes this identity's key file with mode 0600. Refuses to replace an existing file
   * (AuthError KEY_FILE_EXISTS) unless `overwrite` is set; an overwrite goes through a temporary file
   * in the same directory and a rename, so the file is never half-written or briefly readable.
   */
  async save(file: string, options: { overwrite?: boolean } = {}): Promise<void> {
    const text = formatKeyFile(seeds.get(this)!);
    if (!options.overwrite) {
      await writePrivate(file, text, 'wx');
      return;
    }
    const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writePrivate(temp, text, 'wx');
      await rename(temp, file);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  }

  /** The detached ed25519 signature (64 bytes) of `data`. */
  sign(data: Uint8Array): Uint8Array {
    return nacl.sign.detached(data, this.#secretKey);
  }

  /**
   * True when `signature` is `publicKey`'s ed25519 signature of `data` (RFC 8032). Checked by Node's
   * OpenSSL, about a hundred times faster than tweetnacl (servers check grants on every handshake), and
   * stricter: a signature whose scalar is not reduced (S >= L, a malleated copy) is refused.
   * Never throws.
   */
  static verify(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
    if (publicKey.length !== 32 || signature.length !== SIGNATURE_LENGTH) return false;
    try {
      return cryptoVerify(null, data, verifyingKey(publicKey), signature);
    } catch {
      return false; // not a key OpenSSL can use (e.g. not a curve point)
    }
  }

  /** This identity as a peer sees it (no name). */
  toPeer(name?: string): PeerIdentity {
    return peerIdentity(this.publicKey, name);
  }

  /** Keeps the secret out of `console.log` and JSON. */
  toJSON(): { id: string; fingerprint: string } {
    return { id: this.id, fingerprint: this.fingerprint };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Identity(${this.fingerprint})`;
  }
}

// OpenSSL key objects for verifying, by key text: a handful of admin keys sign every grant a server
// sees, and making a key object costs as much as a check. Bounded, oldest first.
const VERIFYING_KEYS = 256;
const verifyingKeys = new Map<string, KeyObject>();

function verifyingKey(publicKey: Uint8Array): KeyObject {
  const x = encodeKey(publicKey);
  let key = verifyingKeys.get(x);
  if (!key) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    verifyingKeys.set(x, key);
    if (verifyingKeys.size > VERIFYING_KEYS)
      verifyingKeys.delete(verifyingKeys.keys().next().value as string);
  }
  return key;
}

/** A {@link PeerIdentity} for a verified public key. */
export function peerIdentity(publicKey: Uint8Array, name?: string): PeerIdentity {
  const key = Uint8Array.from(publicKey);
  return { publicKey: key, id: encodeKey(key), fingerprint: fingerprint(key), name };
}

/**
 * Internal to src/auth and the TLS layer: the 32-byte secret seed. Not exported from the package;
 * it exists so certificates can be signed with the identity's own key.
 */
export function secretSeed(identity: Identity): Uint8Array {
  const seed = seeds.get(identity);
  if (!seed) throw new TypeError('not an Identity');
  return seed;
}

async function writePrivate(file: string, text: string, flags: 'wx'): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(file, flags, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw authError('KEY_FILE_EXISTS', `${file} already exists; refusing to overwrite a key file`, {
        file,
        cause: err,
      });
    }
    throw err;
  }
  try {
    // The umask can only clear bits, but be explicit in case the file system ignores the open mode.
    await handle.chmod(0o600);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function fileError(err: unknown, file: string): AuthError | unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EISDIR') {
    return authError('KEY_FILE_NOT_FOUND', `key file ${file} not found`, {
      file,
      cause: err,
    });
  }
  return err;
}
