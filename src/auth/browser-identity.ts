/**
 * A browser's ed25519 identity: WebCrypto Ed25519 with a non-extractable private key kept in IndexedDB
 * where the browser supports both, tweetnacl otherwise (docs/SECURITY.md, "Browser identities").
 * Node-free; exported from `rxchan/browser`.
 */
import nacl from 'tweetnacl';
import { addKey, deleteKey, indexedDb, readKey, type StoredKey } from './browser-key-store.js';
import { encodeKey } from './key-codec.js';

/** How the private key is held: a WebCrypto CryptoKey that scripts cannot read, or tweetnacl bytes. */
export type BrowserKeyKind = 'webcrypto' | 'tweetnacl';

export interface BrowserIdentityOptions {
  /**
   * Where the key lives. 'indexeddb' (default): created on first use and kept, on this origin, across
   * reloads; falls back to 'memory' where IndexedDB is unavailable. 'memory': a new key, gone with the
   * page.
   */
  storage?: 'indexeddb' | 'memory';
  /** Force tweetnacl even where WebCrypto has Ed25519 (tests). Default false. */
  tweetnacl?: boolean;
}

interface SubtleEd25519 {
  generateKey(
    algorithm: { name: 'Ed25519' },
    extractable: boolean,
    usages: string[],
  ): Promise<{ privateKey: unknown; publicKey: unknown }>;
  exportKey(format: 'raw', key: unknown): Promise<ArrayBuffer>;
  sign(algorithm: { name: 'Ed25519' }, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
}

const subtle = (): SubtleEd25519 | undefined =>
  (globalThis.crypto as unknown as { subtle?: SubtleEd25519 } | undefined)?.subtle;

/**
 * An ed25519 key pair in a browser: what `new ActorSystem({ identity })` proves itself with when it
 * dials `{ url, key }` peers. Its `id` is what a server lists in its authorized keys.
 *
 * ```ts
 * const me = await BrowserIdentity.load('app');  // created on first use, kept in IndexedDB
 * console.log(me.id);                              // put this in the server's authorized keys
 * const system = new ActorSystem({ identity: me });
 * ```
 */
export class BrowserIdentity {
  /** The public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** base64url text of the public key: how keys are written in authorized-keys files. */
  readonly id: string;
  /** How the private key is held. */
  readonly kind: BrowserKeyKind;
  /** True when the key is stored in IndexedDB (the same key after a reload). */
  readonly persisted: boolean;
  readonly #sign: (message: Uint8Array) => Promise<Uint8Array>;

  private constructor(record: StoredKey, publicKey: Uint8Array, persisted: boolean) {
    this.publicKey = Uint8Array.from(publicKey);
    this.id = encodeKey(this.publicKey);
    this.kind = record.kind;
    this.persisted = persisted;
    if (record.kind === 'webcrypto') {
      const key = record.privateKey;
      this.#sign = async (message) =>
        new Uint8Array(await subtle()!.sign({ name: 'Ed25519' }, key, Uint8Array.from(message)));
    } else {
      const secret = nacl.sign.keyPair.fromSeed(record.seed).secretKey;
      this.#sign = async (message) => nacl.sign.detached(message, secret);
    }
  }

  /**
   * The identity stored under `name` on this origin, created (and stored) on first use. Rejects with
   * an Error only when the browser has neither WebCrypto Ed25519 nor `crypto.getRandomValues`; an
   * IndexedDB that fails falls back to a key in memory (`persisted` false).
   */
  static async load(name = 'default', options: BrowserIdentityOptions = {}): Promise<BrowserIdentity> {
    const factory = options.storage === 'memory' ? undefined : indexedDb();
    if (factory !== undefined) {
      try {
        const stored = await readKey(factory, name);
        if (stored !== undefined) return BrowserIdentity.from(stored, true);
        const created = await addKey(factory, name, await newKey(options));
        return BrowserIdentity.from(created, true);
      } catch {
        // IndexedDB refused (private mode, quota, blocked): a key for this page only.
      }
    }
    return BrowserIdentity.from(await newKey(options), false);
  }

  /** A new identity in memory only. */
  static async generate(options: Pick<BrowserIdentityOptions, 'tweetnacl'> = {}): Promise<BrowserIdentity> {
    return BrowserIdentity.from(await newKey(options), false);
  }

  /** Forgets the identity stored under `name` on this origin (nothing if there is none). */
  static async remove(name = 'default'): Promise<void> {
    const factory = indexedDb();
    if (factory !== undefined) await deleteKey(factory, name);
  }

  /** True when this browser has WebCrypto Ed25519 (then keys are non-extractable CryptoKeys). */
  static async webCryptoEd25519(): Promise<boolean> {
    return (await webCryptoKey()) !== undefined;
  }

  /** Signs `message` (ed25519, 64 bytes; the same bytes whichever kind). */
  sign(message: Uint8Array): Promise<Uint8Array> {
    return this.#sign(message);
  }

  toString(): string {
    return `BrowserIdentity(${this.id}, ${this.kind})`;
  }

  private static async from(record: StoredKey, persisted: boolean): Promise<BrowserIdentity> {
    const publicKey =
      record.kind === 'webcrypto' ? record.publicKey : nacl.sign.keyPair.fromSeed(record.seed).publicKey;
    return new BrowserIdentity(record, publicKey, persisted);
  }
}

async function newKey(options: Pick<BrowserIdentityOptions, 'tweetnacl'>): Promise<StoredKey> {
  const key = options.tweetnacl ? undefined : await webCryptoKey();
  if (key !== undefined) return key;
  const seed = globalThis.crypto.getRandomValues(new Uint8Array(32));
  return { kind: 'tweetnacl', seed };
}

/** A fresh non-extractable WebCrypto Ed25519 key pair, or undefined where the browser has none. */
async function webCryptoKey(): Promise<StoredKey | undefined> {
  const s = subtle();
  if (s === undefined) return undefined;
  try {
    const pair = await s.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    const publicKey = new Uint8Array(await s.exportKey('raw', pair.publicKey));
    return { kind: 'webcrypto', privateKey: pair.privateKey, publicKey };
  } catch {
    return undefined;
  }
}
