/**
 * A caller whose key the server does not list, admitted by a grant from an admin the server trusts
 * (`@admin`): `{ host, port, key, grant }` refs over TLS (and a cluster node's own grant by default);
 * over the in-band handshake: `{ url, key, grant }` refs (WebSocket on 127.0.0.1) and
 * `{ messagePort, key, grant }` refs (a MessageChannel in this thread). Without the grant: UNKNOWN_KEY.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { ActorSystem, actor, callContext, isRpcError } from '../../src/actors/index.js';
import { Identity, signGrant } from '../../src/auth/index.js';
import { staticMembership } from '../../src/cluster/static.js';

@actor('whoami')
class WhoAmI {
  name(): string | undefined {
    return callContext().caller?.name;
  }
}

interface Who {
  name(): Promise<string | undefined>;
}

const serverId = Identity.generate();
const admin = Identity.generate();
const clientId = Identity.generate();
const grant = signGrant(admin, {
  subject: clientId.publicKey,
  notAfter: new Date(Date.now() + 3_600_000),
  name: 'granted-client',
});
const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.close()));
});

function system(options: ConstructorParameters<typeof ActorSystem>[0]): ActorSystem {
  const s = new ActorSystem({ config: { closeTimeoutMs: 300 }, onError: () => {}, ...options });
  systems.push(s);
  return s;
}

async function server(): Promise<ActorSystem> {
  const s = system({ identity: serverId, authorizedKeys: [{ key: admin.id, name: 'ops', admin: true }] });
  await s.register(WhoAmI);
  return s;
}

describe('refs that carry our grant in our TLS certificate', () => {
  it('{ host, port, key, grant }: admitted by the grant; a cluster node shows its cluster grant by default', async () => {
    const s = await server();
    const { host, port } = await s.listen({ host: '127.0.0.1', port: 0 });
    const peer = { host, port, key: serverId.id };
    const granted = system({ identity: clientId }).ref<Who>('whoami', { ...peer, grant });
    assert.equal(await granted.name(), 'granted-client');
    const asText = system({ identity: clientId }).ref<Who>('whoami', {
      ...peer,
      grant: Buffer.from(grant).toString('base64url'),
    });
    assert.equal(await asText.name(), 'granted-client');
    // A fresh key, so no session of the refs above resumes.
    const nodeId = Identity.generate();
    const nodeGrant = signGrant(admin, {
      subject: nodeId.publicKey,
      notAfter: new Date(Date.now() + 3_600_000),
      name: 'cluster-node',
    });
    const node = system({
      identity: nodeId,
      cluster: { membership: staticMembership([]), adminKey: admin.id, grant: nodeGrant },
    });
    assert.equal(await node.ref<Who>('whoami', peer).name(), 'cluster-node');
    // Another key with no grant (the same key would resume the session its grant opened).
    const bare = system({ identity: Identity.generate() }).ref<Who>('whoami', peer);
    await assert.rejects(
      bare.name(),
      (e) => isRpcError(e, 'UNAUTHENTICATED') && /UNKNOWN_KEY/.test(e.message),
    );
  });
});

describe('refs that carry our grant over the in-band handshake', () => {
  it('{ url, key, grant }: admitted by the grant and named by it; without it UNKNOWN_KEY', async () => {
    const s = await server();
    const { url } = await s.listen({ websocket: {} });
    const client = system({ identity: clientId });
    const granted = client.ref<Who>('whoami', { url: url!, key: serverId.id, grant });
    assert.equal(await granted.name(), 'granted-client');
    const asText = system({ identity: clientId }).ref<Who>('whoami', {
      url: url!,
      key: serverId.id,
      grant: Buffer.from(grant).toString('base64url'),
    });
    assert.equal(await asText.name(), 'granted-client');
    const bare = system({ identity: clientId }).ref<Who>('whoami', { url: url!, key: serverId.id });
    await assert.rejects(
      bare.name(),
      (e) => isRpcError(e, 'UNAUTHENTICATED') && /UNKNOWN_KEY/.test(e.message),
    );
  });

  it('{ messagePort, key, grant }: admitted by the grant and named by it; without it UNKNOWN_KEY', async () => {
    const s = await server();
    const { port1, port2 } = new MessageChannel();
    const serving = s.servePort(port2);
    const granted = system({ identity: clientId }).ref<Who>('whoami', {
      messagePort: port1,
      key: serverId.id,
      grant,
    });
    assert.equal(await granted.name(), 'granted-client');
    await serving;

    const other = new MessageChannel();
    const refused = s.servePort(other.port2).then(
      () => 'accepted',
      (e: { code?: string }) => e.code,
    );
    const bare = system({ identity: clientId }).ref<Who>('whoami', {
      messagePort: other.port1,
      key: serverId.id,
    });
    await assert.rejects(
      bare.name(),
      (e) => isRpcError(e, 'UNAUTHENTICATED') && /UNKNOWN_KEY/.test(e.message),
    );
    assert.equal(await refused, 'UNAUTHENTICATED');
  });
});
