/**
 * How a dialer decides whether the server it reached is the one it meant: pinned keys, or a
 * known-hosts list with trust on first use as an opt-in.
 */
import { fingerprint, type KnownHosts, keysEqual, toKeyBytes } from '../../auth/index.js';
import { transportError } from '../errors.js';
import { ServerRefusal } from './server-refusal.js';

export { ServerRefusal } from './server-refusal.js';

/** A dialer's trust in one address. */
export interface ServerTrust {
  /** True when `key` is trusted right now, without adding anything (used to vet stored tickets). */
  trusts(key: Uint8Array): boolean;
  /**
   * Decides for a verified server key: undefined when trusted, else the refusal and a message. The
   * answer is synchronous (it sits on the handshake's critical path), except with trust on first use
   * for an unknown host: then a promise that records the key in the known-hosts file first, and
   * rejects with the file-system error if it cannot.
   */
  check(key: Uint8Array): TrustProblem | undefined | Promise<TrustProblem | undefined>;
}

/** Why a server is not trusted. */
export interface TrustProblem {
  readonly refusal: ServerRefusal;
  readonly message: string;
}

/**
 * The trust for `host:port` from dial options. Throws TransportError INVALID_CONFIG when there is
 * nothing to trust (neither `serverKey` nor `knownHosts`) or a pinned key is malformed: a TLS dial
 * never trusts a server by default.
 */
export function serverTrust(options: {
  host: string;
  port: number;
  serverKey?: Uint8Array | string | ReadonlyArray<Uint8Array | string>;
  knownHosts?: KnownHosts;
  trustOnFirstUse?: boolean;
}): ServerTrust {
  const { host, port, knownHosts } = options;
  let pins: Uint8Array[] | undefined;
  if (options.serverKey !== undefined) {
    const list =
      typeof options.serverKey === 'string' || options.serverKey instanceof Uint8Array
        ? [options.serverKey]
        : options.serverKey;
    try {
      pins = list.map((k) => toKeyBytes(k, 'serverKey'));
    } catch (err) {
      throw transportError('INVALID_CONFIG', `dial: ${(err as Error).message}`, { cause: err });
    }
    if (pins.length === 0) throw transportError('INVALID_CONFIG', 'dial: serverKey is an empty list');
  } else if (!knownHosts) {
    throw transportError(
      'INVALID_CONFIG',
      'dialTls needs serverKey (the pinned server key) or knownHosts: a server is never trusted by default',
    );
  }
  const mismatch = (key: Uint8Array, expected: string): TrustProblem => ({
    refusal: ServerRefusal.SERVER_KEY_MISMATCH,
    message: `server key ${fingerprint(key)} at ${host}:${port} is not ${expected}`,
  });
  return {
    trusts(key) {
      if (pins) return pins.some((p) => keysEqual(p, key));
      return knownHosts!.check(host, port, key) === 'known';
    },
    check(key) {
      if (pins) return pins.some((p) => keysEqual(p, key)) ? undefined : mismatch(key, 'the pinned key');
      const state = knownHosts!.check(host, port, key);
      if (state === 'known') return undefined;
      if (state === 'mismatch') return mismatch(key, `the key known-hosts has for it`);
      if (!options.trustOnFirstUse) {
        return {
          refusal: ServerRefusal.SERVER_UNKNOWN,
          message: `no known key for ${host}:${port} (server key ${fingerprint(key)}) and trust on first use is off`,
        };
      }
      return knownHosts!.add(host, port, key).then(() => undefined);
    },
  };
}
