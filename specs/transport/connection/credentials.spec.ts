import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Identity } from '../../../src/auth/index.js';
import { Credentials } from '../../../src/transport/connection/index.js';

describe('Credentials', () => {
  it('reuse a certificate while it is fresh and make a new one once it is stale', async () => {
    const creds = new Credentials(Identity.generate(), { validityMs: 60_000, renewBeforeMs: 57_000 });
    const [a, b] = await Promise.all([creds.current(), creds.current()]);
    assert.equal(a, b, 'concurrent callers share one making');
    assert.equal(await creds.current(), a);
    assert.equal(creds.isStale(a, a.notAfter.getTime() - 57_000), true);
    assert.equal(creds.isStale(a, a.notAfter.getTime() - 57_001), false);
    // Fresh for about 2-3 s (notAfter is rounded down to whole seconds); wait until it is stale.
    const end = Date.now() + 6000;
    while (!creds.isStale() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const c = await creds.current();
    assert.notEqual(c, a);
    assert.ok(c.notAfter > a.notAfter);
    assert.equal(creds.latest, c);
  });
});
