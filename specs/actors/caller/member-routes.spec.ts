import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerClient } from '../../../src/actors/caller/client.js';
import { type MemberPeer, MemberRoutes } from '../../../src/actors/caller/member-routes.js';
import { OwnerCache } from '../../../src/actors/caller/owner-cache.js';
import type { Member } from '../../../src/cluster/member.js';

const member = (keyId: string, actors: string[], ws?: string): Member =>
  Object.freeze({
    keyId,
    actors,
    load: 0,
    addresses: ws === undefined ? { tls: { host: '127.0.0.1', port: 1000 + keyId.length } } : { ws },
  });

/** Routes over a list the spec replaces, with the peers clientFor was asked for. */
function routesOver(initial: readonly Member[]) {
  let list = initial;
  const asked: MemberPeer[] = [];
  const routes = new MemberRoutes(
    () => list,
    (peer) => {
      asked.push(peer);
      return { peer } as unknown as PeerClient;
    },
    new OwnerCache(),
  );
  return { routes, asked, replace: (next: readonly Member[]) => (list = next) };
}

describe('MemberRoutes (the members cluster refs route over)', () => {
  it('lists the members that list the actor, TLS before WebSocket, in the provider order', () => {
    const { routes } = routesOver([
      member('a', ['calc']),
      member('b', ['other']),
      member('c', ['calc'], 'ws://127.0.0.1:9/rxchan'),
    ]);
    const calc = routes.candidates('calc');
    assert.deepEqual(
      calc.map((c) => c.keyId),
      ['a', 'c'],
    );
    assert.deepEqual(calc[0]!.client.peer, { host: '127.0.0.1', port: 1001, key: 'a' });
    assert.deepEqual(calc[1]!.client.peer, { url: 'ws://127.0.0.1:9/rxchan', key: 'c' });
    assert.ok(Object.isFrozen(calc));
    assert.deepEqual(routes.candidates('none'), []);
  });

  it('keeps the candidates while members() gives the same array, and rebuilds them when it changes', () => {
    const first = Object.freeze([member('a', ['calc']), member('b', ['calc'])]);
    const { routes, asked, replace } = routesOver(first);
    const before = routes.candidates('calc');
    assert.equal(routes.candidates('calc'), before, 'the same array while the list is unchanged');
    assert.equal(asked.length, 2, 'clientFor is asked once per member, not per call');
    replace(Object.freeze([member('b', ['calc'])])); // a left
    const after = routes.candidates('calc');
    assert.notEqual(after, before);
    assert.deepEqual(
      after.map((c) => c.keyId),
      ['b'],
    );
  });
});
