/**
 * A client actor system for the commands that talk to a server: it dials with the caller's identity
 * over TLS 1.3 and remembers what the handshake showed.
 */
import { performance } from 'node:perf_hooks';
import { REFLECTION_ACTOR, type Reflection } from '../actors/callee/reflection.js';
import type { HostPeer } from '../actors/caller/client.js';
import { ActorSystem } from '../actors/system.js';
import type { CallOptions, Ref } from '../actors/types.js';
import { type Identity, KnownHosts, toKeyBytes } from '../auth/index.js';
import { dialTls } from '../transport/connection/index.js';
import { UsageError } from './command.js';

/** How long the CLI's system waits for its connection to close gracefully, ms. */
const CLOSE_TIMEOUT_MS = 1_000;

/** What the handshake of the client's connection showed. */
export interface Seen {
  /** The server's key (base64url), as its certificate proved it. */
  key: string | undefined;
  /** How long dialling took (TCP, TLS and the prelude), ms. */
  handshakeMs: number | undefined;
}

/** A client actor system with one server in view. */
export interface Client {
  readonly system: ActorSystem;
  readonly peer: HostPeer;
  /** Filled once connected. */
  readonly seen: Seen;
  /** True when the server's key was pinned with `--key` (else it was taken on first use, unverified). */
  readonly pinned: boolean;
  close(): Promise<void>;
}

/**
 * A client for `address` with `identity`. With `key`, the server must prove it. Without (only `ping`
 * allows it), the key the server presents is trusted for this one connection (trust on first use, in
 * memory) and reported as NOT verified: our certificate and the calls go to whoever answers.
 * Throws UsageError for a malformed key.
 */
export function connect(
  address: { host: string; port: number },
  identity: Identity,
  key: string | undefined,
): Client {
  if (key !== undefined) {
    try {
      toKeyBytes(key, '--key');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const seen: Seen = { key: undefined, handshakeMs: undefined };
  const system = new ActorSystem({
    identity,
    reflection: false,
    config: { closeTimeoutMs: CLOSE_TIMEOUT_MS },
    onError: (err) => process.stderr.write(`rxchan: ${(err as Error)?.message ?? String(err)}\n`),
    dial: async (peer) => {
      const started = performance.now();
      const connection = await dialTls({
        identity,
        host: peer.host!,
        port: peer.port!,
        session: false,
        ...(key !== undefined
          ? { serverKey: key }
          : { knownHosts: KnownHosts.parse(''), trustOnFirstUse: true }),
      });
      seen.handshakeMs = performance.now() - started;
      seen.key = connection.peer?.id;
      return connection;
    },
  });
  return {
    system,
    peer: { ...address, ...(key !== undefined ? { key } : {}) },
    seen,
    pinned: key !== undefined,
    close: () => system.close(),
  };
}

/** A ref to the server's reflection actor (`rxchan.reflection`). */
export function reflection(client: Client, options: CallOptions): Ref<Reflection> {
  return client.system.ref<Reflection>(REFLECTION_ACTOR, client.peer, options);
}
