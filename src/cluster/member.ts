/**
 * A cluster member as a membership provider reports it: a node's key id, where it can be reached, the
 * actors it hosts and its load.
 *
 * A member is a HINT, never a credential. Whoever can write to the membership store (a database
 * account, an operator with psql) can write any row. A row may be used only after the key it names has
 * proven itself on a connection (the TLS handshake, or the in-band handshake of a WebSocket) and holds a
 * valid grant signed by the cluster admin; the layer that dials members (location-transparent refs)
 * enforces that. A row naming a key without a grant gains nothing.
 */
import { decodeKey } from '../auth/key-codec.js';
import { transportError } from '../transport/errors.js';

/** The addresses a node serves. At least one of them. */
export interface MemberAddresses {
  /** The TLS listener: `{ host, port }`. */
  readonly tls?: { readonly host: string; readonly port: number };
  /** The WebSocket listener's URL (`wss://` or `ws://`), when the node serves one. */
  readonly ws?: string;
}

/** What a node says about itself when it joins, and may change later (`update`). */
export interface MemberInfo {
  /** The node's public key, base64url (`Identity.id`): the identity its connections must prove. */
  readonly keyId: string;
  readonly addresses: MemberAddresses;
  /** Names of the actors it hosts. */
  readonly actors: readonly string[];
  /** Its load, a non-negative number whose scale the cluster agrees on (0: idle). */
  readonly load: number;
}

/** A live member, as seen by one node. */
export interface Member extends MemberInfo {
  /**
   * Milliseconds left on its lease when it was last read, by the store's clock (undefined for the
   * static provider, whose members have no lease).
   */
  readonly leaseRemainingMs?: number;
}

/** Most actor names one member may list. */
export const MAX_MEMBER_ACTORS = 4096;

/** Throws TransportError INVALID_CONFIG naming the first bad field of `m`. */
export function verifyMember(m: MemberInfo, where = 'member'): void {
  if (m === null || typeof m !== 'object') bad(where, 'must be an object');
  try {
    decodeKey(m.keyId);
  } catch {
    bad(`${where}.keyId`, `must be a base64url ed25519 public key, got ${String(m.keyId)}`);
  }
  const a = m.addresses;
  if (a === null || typeof a !== 'object' || (a.tls === undefined && a.ws === undefined)) {
    bad(`${where}.addresses`, 'must name a tls { host, port } or a ws url');
  }
  if (a.tls !== undefined) {
    if (typeof a.tls.host !== 'string' || a.tls.host === '')
      bad(`${where}.addresses.tls.host`, 'must be a host');
    const p = a.tls.port;
    if (!Number.isInteger(p) || p < 1 || p > 65535)
      bad(`${where}.addresses.tls.port`, `must be 1 to 65535, got ${p}`);
  }
  if (a.ws !== undefined && !/^wss?:\/\/[^\s]+$/.test(a.ws)) {
    bad(`${where}.addresses.ws`, `must be a ws:// or wss:// url, got ${String(a.ws)}`);
  }
  if (!Array.isArray(m.actors) || m.actors.length > MAX_MEMBER_ACTORS) {
    bad(`${where}.actors`, `must be an array of at most ${MAX_MEMBER_ACTORS} names`);
  }
  for (const name of m.actors) {
    if (typeof name !== 'string' || name.length < 1 || name.length > 256) {
      bad(`${where}.actors`, 'must hold names of 1 to 256 characters');
    }
  }
  if (typeof m.load !== 'number' || !Number.isFinite(m.load) || m.load < 0) {
    bad(`${where}.load`, `must be a finite number >= 0, got ${String(m.load)}`);
  }
}

/** A frozen copy of `m` (with `extra`), holding only the fields of a member. */
export function freezeMember(m: MemberInfo, extra: { leaseRemainingMs?: number } = {}): Member {
  const tls = m.addresses.tls
    ? Object.freeze({ host: m.addresses.tls.host, port: m.addresses.tls.port })
    : undefined;
  return Object.freeze({
    keyId: m.keyId,
    addresses: Object.freeze({
      ...(tls ? { tls } : {}),
      ...(m.addresses.ws !== undefined ? { ws: m.addresses.ws } : {}),
    }),
    actors: Object.freeze([...m.actors]),
    load: m.load,
    ...extra,
  });
}

/** Sorted by key id (code-unit order), frozen. */
export function sortMembers(list: Iterable<Member>): readonly Member[] {
  return Object.freeze([...list].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0)));
}

function bad(field: string, why: string): never {
  throw transportError('INVALID_CONFIG', `cluster: ${field} ${why}`);
}
