import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Member } from '../../src/cluster/member.js';
import { MAX_MEMBER_ACTORS } from '../../src/cluster/member.js';
import { staticMembership } from '../../src/cluster/static.js';
import { isTransportError } from '../../src/transport/errors.js';
import { keysOf, memberOn } from './members.js';

const invalid = (e: unknown) => isTransportError(e, 'INVALID_CONFIG');

describe('static membership', () => {
  it('lists the fixed nodes, then this node once it joins, sorted by key id', async () => {
    const a = memberOn(7001);
    const b = memberOn(7002, [], 0.5);
    const self = memberOn(7003, ['calc', 'echo']);
    const m = staticMembership([a, b]);
    assert.deepEqual(keysOf(m.members()), [a.keyId, b.keyId].sort());
    const seen: (readonly Member[])[] = [];
    m.members$.subscribe((list) => seen.push(list));
    await m.join(self);
    assert.deepEqual(keysOf(m.members()), [a.keyId, b.keyId, self.keyId].sort());
    assert.deepEqual(
      m.members().map((x) => x.keyId),
      keysOf(m.members()),
      'sorted by key id',
    );
    assert.deepEqual(m.members().find((x) => x.keyId === self.keyId)?.actors, ['calc', 'echo']);
    assert.equal(seen.length, 2, 'the list at once, then the join');
    assert.ok(Object.isFrozen(m.members()) && Object.isFrozen(m.members()[0]));
  });

  it('update changes this node; its key id stays', async () => {
    const self = memberOn(7003);
    const m = staticMembership([]);
    await m.join(self);
    await m.update({ load: 3, actors: ['other'] });
    assert.deepEqual(m.members(), [{ ...self, load: 3, actors: ['other'] }]);
    await assert.rejects(m.update({ load: -1 }), invalid);
  });

  it('this node replaces a listed node with its key id', async () => {
    const listed = memberOn(7001);
    const m = staticMembership([listed]);
    await m.join({ ...listed, addresses: { ws: 'wss://node.example:8443/rxchan' } });
    assert.equal(m.members().length, 1);
    assert.deepEqual(m.members()[0]!.addresses, { ws: 'wss://node.example:8443/rxchan' });
  });

  it('leave removes this node and completes members$; a second join is refused', async () => {
    const a = memberOn(7001);
    const self = memberOn(7002);
    const m = staticMembership([a]);
    let completed = false;
    m.members$.subscribe({ complete: () => (completed = true) });
    await m.join(self);
    await assert.rejects(m.join(self), invalid, 'a second join');
    await m.leave();
    await m.leave();
    assert.deepEqual(keysOf(m.members()), [a.keyId]);
    assert.ok(completed);
    await assert.rejects(m.join(self), invalid, 'a join after leave');
  });

  it('MAX_MEMBER_ACTORS: a member may list that many actors; one more is INVALID_CONFIG', async () => {
    const names = Array.from({ length: MAX_MEMBER_ACTORS }, (_, i) => `a${i}`);
    const m = staticMembership([]);
    await m.join({ ...memberOn(7001), actors: names });
    assert.equal(m.members()[0]!.actors.length, MAX_MEMBER_ACTORS);
    await assert.rejects(m.update({ actors: [...names, 'one-more'] }), invalid);
    assert.throws(() => staticMembership([{ ...memberOn(7002), actors: [...names, 'one-more'] }]), invalid);
  });

  it('refuses a bad list with INVALID_CONFIG naming the field', () => {
    const ok = memberOn(7001);
    const cases: [unknown, RegExp][] = [
      [[{ ...ok, keyId: 'not-a-key' }], /nodes\[0\]\.keyId/],
      [[ok, { ...ok }], /nodes\[1\]\.keyId is listed twice/],
      [[{ ...ok, addresses: {} }], /nodes\[0\]\.addresses/],
      [[{ ...ok, addresses: { tls: { host: 'h', port: 0 } } }], /tls\.port/],
      [[{ ...ok, addresses: { ws: 'http://x' } }], /addresses\.ws/],
      [[{ ...ok, actors: [''] }], /actors/],
      [[{ ...ok, load: Number.NaN }], /load/],
      ['nodes', /must be an array/],
    ];
    for (const [nodes, message] of cases) {
      assert.throws(
        () => staticMembership(nodes as never),
        (e: unknown) => invalid(e) && message.test((e as Error).message),
        String(message),
      );
    }
  });
});
