/**
 * What both halves of the in-band key handshake (docs/PROTOCOL.md section 2.2) share: the signer and
 * verifier types, the default verifier, the deadline, and the checks of their options. No Node
 * built-ins: the browser build dials with these.
 */
import nacl from 'tweetnacl';
import { isTransportError, type TransportError, transportError } from '../errors.js';
import type { HandshakeStream } from './byte-reader.js';
import { MAX_INBAND_GRANT, MAX_INBAND_ORIGIN } from './inband-codec.js';

/** An ed25519 key that can sign: Identity implements it in Node; the browser build brings a WebCrypto one. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** A signer with its key's base64url text (`id`): what an ActorSystem's `identity` must be to dial by URL. */
export interface SigningIdentity extends Ed25519Signer {
  readonly id: string;
}

/**
 * Checks an ed25519 signature; never throws. The default is tweetnacl (the same code in Node and
 * browsers); Node's transports pass OpenSSL's (node-signer.ts), which is much faster.
 */
export type Ed25519Verify = (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array) => boolean;

/** ed25519 verification (tweetnacl: the same code in Node and browsers). Never throws. */
export function naclVerify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return nacl.sign.detached.verify(message, signature, publicKey);
  } catch {
    return false;
  }
}

/** Default deadline for the whole handshake and prelude, ms. */
export const DEFAULT_INBAND_TIMEOUT_MS = 5000;

/**
 * Settles with `work`, or rejects HANDSHAKE_TIMEOUT after `timeoutMs` (0: never). On any failure the
 * stream is destroyed, except after a REJECT we wrote (`lingering()`: it then closes on its own).
 * Errors that are not TransportErrors become INTERNAL_ERROR.
 */
export function withDeadline<T>(
  stream: Pick<HandshakeStream, 'destroy'>,
  work: Promise<T>,
  timeoutMs: number,
  lingering: () => boolean = () => false,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            if (done) return;
            done = true;
            stream.destroy();
            reject(
              transportError('HANDSHAKE_TIMEOUT', `in-band handshake not finished within ${timeoutMs} ms`),
            );
          }, timeoutMs)
        : undefined;
    work.then(
      (value) => {
        clearTimeout(timer);
        if (done) return;
        done = true;
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (done) return;
        done = true;
        const error = isTransportError(err)
          ? err
          : transportError('INTERNAL_ERROR', String(err), { cause: err });
        if (!lingering()) stream.destroy();
        reject(error);
      },
    );
  });
}

/** Throws RangeError unless `origin` is 1..1024 bytes of UTF-8. */
export function checkOrigin(origin: string): void {
  const n = typeof origin === 'string' ? new TextEncoder().encode(origin).length : 0;
  if (n === 0 || n > MAX_INBAND_ORIGIN)
    throw new RangeError(`origin must be a string of 1..${MAX_INBAND_ORIGIN} bytes of UTF-8`);
}

/** Throws RangeError unless `grant` is 1..256 bytes: what a server's proof may carry. */
export function checkServerGrant(grant: Uint8Array): void {
  if (!(grant instanceof Uint8Array) || grant.length === 0 || grant.length > MAX_INBAND_GRANT)
    throw new RangeError(`the server's grant must be 1..${MAX_INBAND_GRANT} bytes`);
}

/** An option that did not check out, as TransportError INVALID_CONFIG (TransportErrors pass as they are). */
export function asConfigError(err: unknown): TransportError {
  if (isTransportError(err)) return err;
  return transportError('INVALID_CONFIG', `in-band handshake: ${(err as Error).message}`, { cause: err });
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
