/**
 * Cluster members that serve only a WebSocket (docs/CLUSTER.md section 5): `joinCluster()` announces
 * the listener's URL, and cluster refs dial it `{ url, key }` with the row's key pinned, requiring the
 * member's grant from the cluster admin in its in-band SERVER_PROOF (PROTOCOL.md 2.2), as over TLS
 * in its certificate. A ws:// member that shows no grant, or a grant from a non-admin key, is never
 * used. Static membership, 127.0.0.1.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ActorSystem } from '../../src/actors/system.js';
import type { Ref } from '../../src/actors/types.js';
import { Identity } from '../../src/auth/identity.js';
import type { MemberInfo } from '../../src/cluster/member.js';
import { staticMembership } from '../../src/cluster/static.js';
import type { RefusedReason } from '../../src/transport/connection/index.js';
import { admin, type Calc, grantOf, trustAdmin } from './nodes.js';

const systems: ActorSystem[] = [];
after(() => Promise.all(systems.map((s) => s.close())));

/**
 * A node hosting `calc` (answering `tag`) that serves only a WebSocket. With `grant`, it is a cluster
 * node (its listener shows the grant) and joins its own static membership: its row is what it
 * announced. Without, its listener shows no grant and its row is written by hand.
 */
async function wsNode(tag: string, grant: Uint8Array | undefined, identity = Identity.generate()) {
  const refused: RefusedReason[] = [];
  const membership = staticMembership([]);
  const system = new ActorSystem({
    identity,
    authorizedKeys: trustAdmin,
    config: { reconnectBaseMs: 50 },
    ...(grant ? { cluster: { membership, adminKey: admin.id, grant } } : {}),
  });
  systems.push(system);
  await system.register(
    'calc',
    class {
      whoami(): string {
        return tag;
      }
    },
  );
  const { url } = await system.listen({ websocket: {}, onRefused: (e) => refused.push(e.reason) });
  let row: MemberInfo = { keyId: identity.id, addresses: { ws: url! }, actors: ['calc'], load: 0 };
  if (grant) {
    await system.joinCluster();
    row = membership.members().find((m) => m.keyId === identity.id)!;
  }
  return { system, row, refused, url: url! };
}

function client(rows: MemberInfo[]) {
  const identity = Identity.generate();
  const system = new ActorSystem({
    identity,
    config: { reconnectBaseMs: 50 },
    cluster: { membership: staticMembership(rows), adminKey: admin.id, grant: grantOf(identity) },
  });
  systems.push(system);
  return system;
}

async function answers(calc: Ref<Calc>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await calc.whoami());
  return out;
}

describe('cluster members that serve only a WebSocket', () => {
  it('joinCluster announces the ws URL (no TLS address), and a cluster ref reaches the member by it', async () => {
    const id = Identity.generate();
    const n = await wsNode('ws-only', grantOf(id), id);
    assert.deepEqual(n.row.addresses, { ws: n.url });
    assert.ok(n.url.startsWith('ws://127.0.0.1:'));
    const calc = client([n.row]).clusterRef<Calc>('calc');
    assert.deepEqual(await answers(calc, 3), ['ws-only', 'ws-only', 'ws-only']);
    assert.equal(n.system.stats().connections, 1, 'one connection, shared by the calls');
  });

  it('a node serving TLS and a WebSocket announces both', async () => {
    const id = Identity.generate();
    const membership = staticMembership([]);
    const system = new ActorSystem({
      identity: id,
      authorizedKeys: trustAdmin,
      cluster: { membership, adminKey: admin.id, grant: grantOf(id) },
    });
    systems.push(system);
    const { host, port } = await system.listen();
    const { url } = await system.listen({ websocket: {} });
    await system.joinCluster();
    assert.deepEqual(membership.members()[0]!.addresses, { tls: { host, port }, ws: url });
  });

  it('trust: a ws member showing no grant, or a grant from a non-admin key, is never used', async () => {
    const idGood = Identity.generate();
    const good = await wsNode('good', grantOf(idGood), idGood);
    const noGrant = await wsNode('no-grant', undefined);
    const idForged = Identity.generate();
    const forged = await wsNode('forged', grantOf(idForged, Identity.generate()), idForged);
    const c = client([noGrant.row, forged.row, good.row]);
    const calc = c.clusterRef<Calc>('calc');
    assert.deepEqual(await answers(calc, 6), Array(6).fill('good'));
    for (const bad of [noGrant, forged]) {
      assert.equal(bad.system.stats().callsServed.OK ?? 0, 0, 'no call reached a bad member');
      assert.equal(bad.system.stats().connections, 0, 'no connection was accepted');
      // The client dropped the handshake after SERVER_PROOF, before its own proof.
      assert.ok(bad.refused.length >= 1, `a refused handshake at each bad member: ${bad.refused}`);
    }
    // Only bad rows: UNAVAILABLE, the refusal SERVER_NO_GRANT, nothing served.
    const onlyBad = client([noGrant.row, forged.row]).clusterRef<Calc>('calc');
    await assert.rejects(onlyBad.whoami(), (e: { code?: string; message: string }) => {
      assert.equal(e.code, 'UNAVAILABLE');
      assert.match(e.message, /SERVER_NO_GRANT/);
      return true;
    });
    for (const bad of [noGrant, forged]) assert.equal(bad.system.stats().connections, 0);
  });
});
