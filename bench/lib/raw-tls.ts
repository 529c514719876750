/**
 * The raw baselines of the actors and suite benchmarks: what node:tls does alone, over mutual TLS 1.3
 * with the same ed25519 certificates as rxchan, nothing checked about the peer's key (a baseline does
 * the least).
 *
 *  - echo: length-prefixed frames (./actors-wire.ts) written back whole; the client is actors-load's
 *    RawEchoClient (bench/actors.ts and the suite's calls scenarios);
 *  - sink: one-way bytes. The client sends an 8-byte count (./mux-wire.ts) and then that many bytes;
 *    the server answers with the count it received once it has them all.
 *  - source: one-way bytes the other way. The client sends an 8-byte count; the server writes that many
 *    bytes in 64 KiB writes (waiting for 'drain') and ends the connection.
 *
 * Servers (child side) pause reading while their writes are not drained, so a slow peer cannot grow
 * their memory; a peer that breaks the framing loses its connection, nothing else.
 */
import { once } from 'node:events';
import tls from 'node:tls';
import type { CertificateMaterial } from '../../src/auth/index.js';
import { FrameReader } from './actors-wire.js';
import { COUNT_LENGTH, decodeCount, encodeCount } from './mux-wire.js';
import { nowMs } from './stats.js';

/** A certificate and its key, PEM. */
export type Pems = Pick<CertificateMaterial, 'certPem' | 'keyPem'>;

const TLS13 = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;

/** A listening raw server; `close()` destroys its connections too, so it always completes. */
export interface RawServer {
  readonly port: number;
  close(): Promise<void>;
}

async function serveTls(cert: Pems, onSocket: (s: tls.TLSSocket) => void): Promise<RawServer> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer(
    { key: cert.keyPem, cert: cert.certPem, ...TLS13, requestCert: true, rejectUnauthorized: false },
    (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      socket.setNoDelay(true);
      onSocket(socket);
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echo each length-prefixed frame back, the frames of one read in one corked write. */
export function rawEchoServer(cert: Pems): Promise<RawServer> {
  return serveTls(cert, (socket) => {
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      if (frames.length === 0) return;
      socket.cork();
      let ok = true;
      for (const f of frames) ok = socket.write(f);
      socket.uncork();
      if (!ok) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    });
  });
}

/** Count the bytes announced by the 8-byte header, then answer with the count. */
export function rawSinkServer(cert: Pems): Promise<RawServer> {
  return serveTls(cert, (socket) => {
    let header: Buffer = Buffer.alloc(0);
    let expected = -1;
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      if (expected < 0) {
        header = Buffer.concat([header, chunk]);
        if (header.length < COUNT_LENGTH) return;
        expected = decodeCount(header);
        received = header.length - COUNT_LENGTH;
      } else {
        received += chunk.length;
      }
      if (received >= expected) socket.write(encodeCount(received));
    });
  });
}

/**
 * Send `total` bytes as `chunk`-sized writes to a {@link rawSinkServer} on a fresh connection (mutual
 * TLS 1.3); resolves with the ms from the first byte written to the server's count read. Rejects if
 * the count differs or nothing came back within `limitMs`.
 */
export async function rawOneWay(
  port: number,
  cert: Pems,
  total: number,
  chunk: Buffer,
  limitMs: number,
): Promise<number> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    key: cert.keyPem,
    cert: cert.certPem,
    ...TLS13,
    rejectUnauthorized: false,
  });
  socket.setNoDelay(true);
  let timer: NodeJS.Timeout | undefined;
  try {
    await once(socket, 'secureConnect');
    const answer = new Promise<number>((resolve, reject) => {
      let got: Buffer = Buffer.alloc(0);
      socket.on('data', (b: Buffer) => {
        got = Buffer.concat([got, b]);
        if (got.length >= COUNT_LENGTH) resolve(decodeCount(got));
      });
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('raw sink closed before answering')));
      timer = setTimeout(() => reject(new Error(`raw one-way: no answer within ${limitMs} ms`)), limitMs);
    });
    answer.catch(() => undefined); // awaited below; a failure while writing must not be unhandled
    const start = nowMs();
    socket.write(encodeCount(total));
    for (let sent = 0; sent < total && !socket.destroyed; sent += chunk.length) {
      const piece = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
      if (!socket.write(piece)) await Promise.race([once(socket, 'drain'), answer]);
    }
    const count = await answer;
    const ms = nowMs() - start;
    if (count !== total) throw new Error(`raw sink counted ${count} bytes, ${total} sent`);
    return ms;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

/** Bytes of each write of {@link rawSourceServer}. */
export const SOURCE_CHUNK = 64 * 1024;

/** Write the bytes announced by the 8-byte header in {@link SOURCE_CHUNK} writes, then end. */
export function rawSourceServer(cert: Pems): Promise<RawServer> {
  const chunk = Buffer.alloc(SOURCE_CHUNK, 0xa5);
  return serveTls(cert, (socket) => {
    let header: Buffer = Buffer.alloc(0);
    const onHeader = (b: Buffer): void => {
      header = Buffer.concat([header, b]);
      if (header.length < COUNT_LENGTH) return;
      socket.off('data', onHeader);
      let left = decodeCount(header);
      const pump = (): void => {
        while (left > 0 && !socket.destroyed) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      pump();
    };
    socket.on('data', onHeader);
  });
}

/**
 * Ask a {@link rawSourceServer} for `total` bytes on a fresh connection (mutual TLS 1.3) and read them
 * with `for await`, as a caller reads a Readable result; resolves with the ms from the request written to
 * the end of the stream. Rejects if the count differs or the stream did not end within `limitMs`.
 */
export async function rawDownload(port: number, cert: Pems, total: number, limitMs: number): Promise<number> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    key: cert.keyPem,
    cert: cert.certPem,
    ...TLS13,
    rejectUnauthorized: false,
  });
  socket.setNoDelay(true);
  const timer = setTimeout(
    () => socket.destroy(new Error(`raw download: not done within ${limitMs} ms`)),
    limitMs,
  );
  try {
    await once(socket, 'secureConnect');
    const start = nowMs();
    socket.write(encodeCount(total));
    let got = 0;
    for await (const b of socket) got += (b as Buffer).length;
    const ms = nowMs() - start;
    if (got !== total) throw new Error(`raw download read ${got} bytes, ${total} asked for`);
    return ms;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}
