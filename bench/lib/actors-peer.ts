/**
 * Child-process entry of the actors benchmark: the serving side of both systems.
 *
 *   rxchan  an ActorSystem listening over mutual TLS 1.3, hosting `calc` (add), authorizing the
 *           benchmark's client key;
 *   raw     ./raw-tls.ts's echo server, mutual TLS 1.3 with the same kind of certificate (ed25519, made
 *           from the same identity), echoing length-prefixed frames (./actors-wire.ts). It checks nothing
 *           about the client's key: the baseline does the least an RPC server must do.
 *
 * Arguments: the server identity's seed (hex) and the client's key id.
 */
import 'reflect-metadata';
import { ActorSystem, actor } from '../../src/actors/index.js';
import { Identity, makeCertificate } from '../../src/auth/index.js';
import { servePeer } from './child.js';
import { rawEchoServer } from './raw-tls.js';

@actor('calc')
export class Calc {
  add(a: number, b: number): number {
    return a + b;
  }
}

const [seedHex, clientId] = process.argv.slice(2);

servePeer(async () => {
  if (!seedHex || !clientId) throw new Error('usage: actors-peer <server seed hex> <client key id>');
  const identity = Identity.fromSeed(Buffer.from(seedHex, 'hex'));
  const system = new ActorSystem({ identity, authorizedKeys: [{ key: clientId, name: 'bench' }] });
  await system.register(Calc);
  const { port: rxchan } = await system.listen();

  const raw = await rawEchoServer(await makeCertificate(identity));
  return {
    ports: { rxchan, raw: raw.port },
    close: async () => {
      await Promise.all([system.close(), raw.close()]);
    },
  };
});
