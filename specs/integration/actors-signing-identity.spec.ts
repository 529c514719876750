/**
 * An ActorSystem whose identity is a SigningIdentity that is not an Identity (a BrowserIdentity, here
 * on Node: WebCrypto Ed25519 with an asynchronous signer): it dials url peers and listens for WebSocket
 * clients with the in-band handshake; TLS refuses it INVALID_CONFIG.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ActorSystem, actor, callContext, isRpcError } from '../../src/actors/index.js';
import { BrowserIdentity } from '../../src/auth/browser-identity.js';
import { Identity } from '../../src/auth/index.js';

@actor('who')
class Who {
  name(): string | undefined {
    return callContext().caller.name;
  }
}

const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.close()));
});

function track(s: ActorSystem): ActorSystem {
  systems.push(s);
  return s;
}

describe('an ActorSystem with a SigningIdentity', () => {
  it('dials a url peer with it, known by its authorized key', async () => {
    const me = await BrowserIdentity.generate();
    const serverId = Identity.generate();
    const server = track(
      new ActorSystem({ identity: serverId, authorizedKeys: [{ key: me.id, name: 'page' }] }),
    );
    await server.register(Who);
    const { url } = await server.listen({ websocket: {} });
    const client = track(new ActorSystem({ identity: me }));
    assert.equal(await client.ref<Who>('who', { url: url!, key: serverId.id }).name(), 'page');
  });

  it('listens for WebSocket clients with it', async () => {
    const serverId = await BrowserIdentity.generate({ tweetnacl: true });
    const clientId = Identity.generate();
    const server = track(
      new ActorSystem({ identity: serverId, authorizedKeys: [{ key: clientId.id, name: 'alice' }] }),
    );
    await server.register(Who);
    const { url } = await server.listen({ websocket: {} });
    const client = track(new ActorSystem({ identity: clientId }));
    assert.equal(await client.ref<Who>('who', { url: url!, key: serverId.id }).name(), 'alice');
  });

  it('cannot listen or dial over TLS: INVALID_CONFIG', async () => {
    const me = await BrowserIdentity.generate();
    const system = track(new ActorSystem({ identity: me, authorizedKeys: [] }));
    await assert.rejects(system.listen(), (err) => {
      assert.equal((err as { code?: string }).code, 'INVALID_CONFIG', String(err));
      return true;
    });
    const call = system.ref<Who>('who', { host: '127.0.0.1', port: 1, key: Identity.generate().id }).name();
    await assert.rejects(call, (err) => {
      assert.ok(isRpcError(err), String(err));
      assert.match((err as Error).message, /TLS needs an Identity/);
      return true;
    });
  });
});
