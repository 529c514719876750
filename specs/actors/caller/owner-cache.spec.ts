import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OWNER_CACHE_SIZE, OwnerCache, ownerEntry } from '../../../src/actors/caller/owner-cache.js';

describe('OwnerCache (the owners cluster refs remember)', () => {
  it('OWNER_CACHE_SIZE: beyond it, the least recently used owner is forgotten', () => {
    const cache = new OwnerCache();
    for (let i = 0; i < OWNER_CACHE_SIZE; i++) cache.set(ownerEntry('counter', `k${i}`), `owner${i}`);
    assert.equal(cache.size, OWNER_CACHE_SIZE);
    assert.equal(cache.get(ownerEntry('counter', 'k0')), 'owner0'); // k0 is now the most recently used
    cache.set(ownerEntry('counter', 'new'), 'owner-new');
    assert.equal(cache.size, OWNER_CACHE_SIZE);
    assert.equal(cache.get(ownerEntry('counter', 'k1')), undefined, 'k1 was the least recently used');
    assert.equal(cache.get(ownerEntry('counter', 'k0')), 'owner0');
    assert.equal(cache.get(ownerEntry('counter', 'new')), 'owner-new');
  });

  it('drop forgets an entry only when it names the owner given (or any, without one)', () => {
    const cache = new OwnerCache(4);
    cache.set(ownerEntry('a', 'k'), 'x');
    cache.drop(ownerEntry('a', 'k'), 'y');
    assert.equal(cache.get(ownerEntry('a', 'k')), 'x');
    cache.drop(ownerEntry('a', 'k'), 'x');
    assert.equal(cache.get(ownerEntry('a', 'k')), undefined);
    cache.set(ownerEntry('a', 'k'), 'x');
    cache.drop(ownerEntry('a', 'k'));
    assert.equal(cache.size, 0);
  });
});
