/** Rendezvous order (which member a keyed call tries first) and the static provider's placement by it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRpcError } from '../../src/actors/errors.js';
import type { LeaseState } from '../../src/cluster/placement.js';
import { rendezvousOrder, weight } from '../../src/cluster/rendezvous.js';
import { staticMembership } from '../../src/cluster/static.js';
import { memberOn } from './members.js';

describe('rendezvousOrder', () => {
  it('matches the vectors of docs/CLUSTER.md 6.1.1', () => {
    const ids = [1, 2, 3].map((b) => Buffer.alloc(32, b).toString('base64url'));
    assert.deepEqual(
      ids.map((id) => weight(`${id}\u0000counter\u0000user-42`)),
      [2719921642, 20036296, 4109900941],
    );
    assert.deepEqual(
      rendezvousOrder(
        ids.map((keyId) => ({ keyId })),
        'counter',
        'user-42',
      ).map((m) => m.keyId),
      [ids[2], ids[0], ids[1]],
    );
    assert.equal(weight(''), 2872998923);
    assert.equal(weight('a'), 444641715);
  });

  const members = [memberOn(7401), memberOn(7402), memberOn(7403)];
  const keys = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
  const first = (list: typeof members, key: string) => rendezvousOrder(list, 'counter', key)[0]!.keyId;

  it('is stable: the same order whatever the input order, and a new array', () => {
    for (const key of keys.slice(0, 100)) {
      const order = rendezvousOrder(members, 'counter', key).map((m) => m.keyId);
      const reversed = rendezvousOrder([...members].reverse(), 'counter', key).map((m) => m.keyId);
      assert.deepEqual(order, reversed);
      assert.equal(order.length, 3);
    }
    assert.notEqual(rendezvousOrder(members, 'a', 'b'), members);
  });

  it('spreads 1000 keys over 3 members within ±20% of a third each', () => {
    const counts = new Map<string, number>();
    for (const key of keys) counts.set(first(members, key), (counts.get(first(members, key)) ?? 0) + 1);
    assert.equal(counts.size, 3);
    for (const n of counts.values()) assert.ok(n >= 267 && n <= 400, `a member got ${n} of 1000 keys`);
  });

  it('moves only the keys of a removed member', () => {
    const removed = members[1]!;
    const rest = members.filter((m) => m !== removed);
    let moved = 0;
    for (const key of keys) {
      const before = first(members, key);
      const after = first(rest, key);
      if (before === removed.keyId) moved++;
      else assert.equal(after, before, `${key} moved though its owner stayed`);
    }
    assert.ok(moved > 0);
  });
});

describe('static placement', () => {
  it('owner = first in rendezvous order over members listing the actor; lease valid from join to leave', async () => {
    const others = [memberOn(7411, ['counter']), memberOn(7412, ['calc'])];
    const self = memberOn(7410, ['counter']);
    const m = staticMembership(others);
    const states: LeaseState[] = [];
    m.placement!.lease$.subscribe((s) => states.push(s));
    await assert.rejects(m.placement!.claim('counter', 'k'), (e: unknown) => isRpcError(e, 'UNAVAILABLE'));
    await m.join(self);
    for (let i = 0; i < 50; i++) {
      const expected = rendezvousOrder([self, others[0]!], 'counter', `k${i}`)[0]!.keyId;
      assert.deepEqual(await m.placement!.claim('counter', `k${i}`), { owner: expected });
    }
    assert.equal(m.state, undefined, 'no state store');
    await m.placement!.release('counter', 'k0');
    await m.leave();
    assert.deepEqual(states, ['fenced', 'valid', 'fenced']);
  });
});
