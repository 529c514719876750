/**
 * Child-process entry of the actors benchmark: the serving side of both systems.
 *
 *   rxchan  an ActorSystem listening over mutual TLS 1.3, hosting `calc` (add), authorizing the
 *           benchmark's client key;
 *   raw     a node:tls server, mutual TLS 1.3 with the same kind of certificate (ed25519, made from the
 *           same identity), echoing length-prefixed frames (./actors-wire.ts). It checks nothing about
 *           the client's key: the baseline does the least an RPC server must do.
 *
 * Arguments: the server identity's seed (hex) and the client's key id.
 */
import 'reflect-metadata';
import tls from 'node:tls';
import { ActorSystem, actor } from '../../src/actors/index.js';
import { Identity, makeCertificate } from '../../src/auth/index.js';
import { FrameReader } from './actors-wire.js';
import { servePeer } from './child.js';

@actor('calc')
export class Calc {
  add(a: number, b: number): number {
    return a + b;
  }
}

/** Echo each frame back; pause reading while the socket's writes are not drained. */
function echo(socket: tls.TLSSocket): void {
  const reader = new FrameReader();
  socket.on('error', () => socket.destroy());
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
}

const [seedHex, clientId] = process.argv.slice(2);

servePeer(async () => {
  if (!seedHex || !clientId) throw new Error('usage: actors-peer <server seed hex> <client key id>');
  const identity = Identity.fromSeed(Buffer.from(seedHex, 'hex'));
  const system = new ActorSystem({ identity, authorizedKeys: [{ key: clientId, name: 'bench' }] });
  await system.register(Calc);
  const { port: rxchan } = await system.listen();

  const cert = await makeCertificate(identity);
  const raw = tls.createServer(
    {
      key: cert.keyPem,
      cert: cert.certPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      socket.setNoDelay(true);
      echo(socket);
    },
  );
  raw.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const sockets = new Set<tls.TLSSocket>();
  raw.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    ports: { rxchan, raw: (raw.address() as { port: number }).port },
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([system.close(), new Promise<void>((resolve) => raw.close(() => resolve()))]);
    },
  };
});
