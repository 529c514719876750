/**
 * Where a browser keeps its identities: one IndexedDB database (`rxchan`, object store `identities`,
 * keyed by name) on the page's origin. A record holds either a WebCrypto key pair whose private key
 * is non-extractable (IndexedDB stores the CryptoKey itself; its bytes never reach JavaScript), or,
 * where the browser has no WebCrypto Ed25519, a tweetnacl seed (plain bytes any script of the origin
 * can read). Declares the little of IndexedDB it uses, as the project builds without the DOM types.
 */

/** What is stored under a name. */
export type StoredKey =
  | { readonly kind: 'webcrypto'; readonly privateKey: unknown; readonly publicKey: Uint8Array }
  | { readonly kind: 'tweetnacl'; readonly seed: Uint8Array };

const DB_NAME = 'rxchan';
const STORE = 'identities';

interface IdbRequest<T> {
  result: T;
  error: { name: string; message: string } | null;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbDatabase {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: 'readonly' | 'readwrite'): IdbTransaction;
  close(): void;
}
interface IdbTransaction {
  objectStore(name: string): IdbStore;
}
interface IdbStore {
  get(key: string): IdbRequest<unknown>;
  add(value: unknown, key: string): IdbRequest<unknown>;
  delete(key: string): IdbRequest<unknown>;
}
interface IdbFactory {
  open(name: string, version: number): IdbOpenRequest;
}

/** The page's IndexedDB, or undefined where there is none (or it is blocked). */
export function indexedDb(): IdbFactory | undefined {
  try {
    return (globalThis as { indexedDB?: IdbFactory }).indexedDB ?? undefined;
  } catch {
    return undefined; // some browsers throw on access in private modes or sandboxed frames
  }
}

function request<T>(req: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () =>
      reject(new Error(`IndexedDB: ${req.error?.name ?? 'error'}: ${req.error?.message ?? ''}`));
  });
}

async function openDb(factory: IdbFactory): Promise<IdbDatabase> {
  const req = factory.open(DB_NAME, 1);
  req.onupgradeneeded = () => {
    if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
  };
  return request(req);
}

/** The record stored under `name`, or undefined. Rejects when IndexedDB fails. */
export async function readKey(factory: IdbFactory, name: string): Promise<StoredKey | undefined> {
  const db = await openDb(factory);
  try {
    const value = await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(name));
    return (value ?? undefined) as StoredKey | undefined;
  } finally {
    db.close();
  }
}

/**
 * Stores `record` under `name` unless one is there already (another tab may have created it first), and
 * returns the one that is stored. Rejects when IndexedDB fails.
 */
export async function addKey(factory: IdbFactory, name: string, record: StoredKey): Promise<StoredKey> {
  const db = await openDb(factory);
  try {
    try {
      await request(db.transaction(STORE, 'readwrite').objectStore(STORE).add(record, name));
      return record;
    } catch (err) {
      const existing = await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(name));
      if (existing) return existing as StoredKey;
      throw err;
    }
  } finally {
    db.close();
  }
}

/** Deletes what is stored under `name` (nothing when there is none). Rejects when IndexedDB fails. */
export async function deleteKey(factory: IdbFactory, name: string): Promise<void> {
  const db = await openDb(factory);
  try {
    await request(db.transaction(STORE, 'readwrite').objectStore(STORE).delete(name));
  } finally {
    db.close();
  }
}
