import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ActorSystem } from '../../src/actors/system.js';
import type { Ref } from '../../src/actors/types.js';
import { Identity } from '../../src/auth/identity.js';
import type { MemberInfo } from '../../src/cluster/member.js';
import { answers as answersOf, type Calc, calcNamed, clusterClient, grantOf, startNode } from './nodes.js';

const systems: ActorSystem[] = [];
after(() => Promise.all(systems.map((s) => s.close())));

/** A node hosting `calc` that answers `tag`, joined to its own static membership; its row and refusals. */
const node = (tag: string, grant: Uint8Array | undefined, identity = Identity.generate()) =>
  startNode(systems, { calc: calcNamed(tag) }, { grant, identity });

const client = (rows: MemberInfo[]) => clusterClient(systems, rows);

const answers = (calc: Ref<Calc>, n: number) => answersOf(() => calc.whoami(), n);

describe('cluster refs by actor name (static membership, TLS on 127.0.0.1)', () => {
  it('spreads calls over the members hosting the actor; when one stops, calls go to the other', async () => {
    const idA = Identity.generate();
    const idB = Identity.generate();
    const na = await node('a', grantOf(idA), idA);
    const nb = await node('b', grantOf(idB), idB);
    const c = client([na.row, nb.row]);
    const calc = c.clusterRef<Calc>('calc');
    const seen = await answers(calc, 6);
    assert.deepEqual(seen.filter((x) => x === 'a').length, 3, `round robin: ${seen}`);
    assert.deepEqual(seen.filter((x) => x === 'b').length, 3, `round robin: ${seen}`);
    await na.system.close();
    assert.deepEqual(await answers(calc, 4), ['b', 'b', 'b', 'b']);
    await nb.system.close();
    await assert.rejects(calc.whoami(), (e: { code?: string }) => e.code === 'UNAVAILABLE');
  });

  it('fails UNAVAILABLE when no live member hosts the actor', async () => {
    const c = client([]);
    await assert.rejects(c.clusterRef<Calc>('calc').whoami(), /no live member hosts calc/);
  });

  it('trust: a row naming a key without a valid grant, or an address serving another key, gains nothing', async () => {
    const idGood = Identity.generate();
    const good = await node('good', grantOf(idGood), idGood);
    // A node holding its key but no grant; one whose grant an outsider signed; an address serving
    // another key than its row names.
    const noGrant = await node('no-grant', undefined);
    const idForged = Identity.generate();
    const forged = await node('forged', grantOf(idForged, Identity.generate()), idForged);
    const other = await node('other', grantOf(Identity.generate()));
    const liar: MemberInfo = { ...other.row, keyId: Identity.generate().id };
    const c = client([noGrant.row, forged.row, liar, good.row]);
    const calc = c.clusterRef<Calc>('calc');
    assert.deepEqual(await answers(calc, 8), Array(8).fill('good'));
    for (const bad of [noGrant, forged, other]) {
      assert.equal(bad.system.stats().callsServed.OK ?? 0, 0, 'no call reached a bad member');
      assert.equal(bad.system.stats().connections, 0, 'no connection was accepted');
    }
    // The client refused each bad server in the handshake, before sending its certificate: the server
    // saw a client that presented none (or went away).
    for (const bad of [noGrant, forged, other]) {
      assert.ok(bad.refused.length >= 1, `a refused handshake at each bad address: ${bad.refused}`);
    }
    // Only bad rows: the call fails, and nothing was served.
    const onlyBad = client([noGrant.row, forged.row, liar]).clusterRef<Calc>('calc');
    await assert.rejects(onlyBad.whoami(), (e: { code?: string; message: string }) => {
      assert.equal(e.code, 'UNAVAILABLE');
      return /could be reached/.test(e.message);
    });
  });
});
