/**
 * Shared by the connection specs: raw clients that speak exactly what a test wants, and bounded waits.
 * Every wait has a deadline, so a broken implementation fails the spec instead of hanging it.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { type CertificateMaterial, Identity, makeCertificate } from '../../../src/auth/index.js';
import type { Listener, RefusedEvent } from '../../../src/transport/connection/index.js';

/** Resolves when `check()` is true; rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Everything `socket` receives until it closes, and whether it closed within `timeoutMs`. */
export function drain(
  socket: Duplex,
  timeoutMs = 5000,
): Promise<{ data: Buffer; closed: boolean; error?: Error }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: Error | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed: false, ...(error ? { error } : {}) });
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      error = e;
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed: true, ...(error ? { error } : {}) });
    });
  });
}

/** Reads until `n` bytes arrived (or fails after `timeoutMs`); the rest stays unread. */
export function readBytes(socket: Duplex, n: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('readable', onReadable);
      reject(new Error(`${n} bytes not received within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReadable = () => {
      const chunk = socket.read(n) as Buffer | null;
      if (chunk === null) return;
      clearTimeout(timer);
      socket.off('readable', onReadable);
      resolve(chunk);
    };
    socket.on('readable', onReadable);
    onReadable();
  });
}

/** A raw TLS 1.3 client (no rxchan logic): optional certificate, optional ticket, any version. */
export function rawTls(
  port: number,
  options: { cert?: CertificateMaterial; session?: Buffer; maxVersion?: tls.SecureVersion } = {},
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ...(options.maxVersion ? { maxVersion: options.maxVersion } : { minVersion: 'TLSv1.3' as const }),
      ...(options.cert ? { key: options.cert.keyPem, cert: options.cert.certPem } : {}),
      ...(options.session ? { session: options.session } : {}),
    });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A raw TCP client, connected. */
export function rawTcp(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A fresh identity with a certificate, for raw clients. */
export async function identityWithCert(options?: { validityMs?: number; now?: Date; grant?: Uint8Array }) {
  const identity = Identity.generate();
  return { identity, cert: await makeCertificate(identity, options) };
}

/** Collects a listener's refused events. */
export function refusals(): {
  events: RefusedEvent[];
  onRefused: (e: RefusedEvent) => void;
  reasons: () => string[];
} {
  const events: RefusedEvent[] = [];
  return { events, onRefused: (e) => events.push(e), reasons: () => events.map((e) => e.reason) };
}

/** Closes listeners, destroying their connections, ignoring ones already closed. */
export async function closeAll(...listeners: (Listener | undefined)[]): Promise<void> {
  await Promise.all(listeners.map((l) => l?.close({ destroyConnections: true })));
}
