import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultMembershipConfig, resolveMembershipConfig } from '../../src/cluster/config.js';
import { postgresMembership } from '../../src/cluster/postgres/membership.js';
import { isTransportError } from '../../src/transport/errors.js';
import { section } from '../support/markdown.js';

// dist/specs/cluster/config.spec.js -> the repository root is three levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const invalid = (field: string) => (e: unknown) =>
  isTransportError(e, 'INVALID_CONFIG') && (e as Error).message.includes(field);

describe('membership config', () => {
  it('has documented defaults that pass their own checks', () => {
    assert.deepEqual(defaultMembershipConfig(), {
      leaseMs: 10_000,
      heartbeatMs: 3_000,
      refreshMs: 30_000,
      connectTimeoutMs: 5_000,
      heartbeatTimeoutMs: 3_000,
      queryTimeoutMs: 5_000,
      fenceMarginMs: 1_000,
      expiredRetentionMs: 3_600_000,
      maxStateBytes: 1_048_576,
    });
    assert.deepEqual(resolveMembershipConfig(), defaultMembershipConfig());
  });

  it('heartbeatTimeoutMs follows heartbeatMs, fenceMarginMs a fifth of a short leaseMs, unless given', () => {
    const c = resolveMembershipConfig({ leaseMs: 600, heartbeatMs: 100 });
    assert.equal(c.heartbeatTimeoutMs, 100);
    assert.equal(c.fenceMarginMs, 120);
    const d = resolveMembershipConfig({ heartbeatTimeoutMs: 500, fenceMarginMs: 0 });
    assert.equal(d.heartbeatTimeoutMs, 500);
    assert.equal(d.fenceMarginMs, 0);
  });

  it('docs/CLUSTER.md section 4 lists every field with its default', () => {
    const text = section(readFileSync(join(root, 'docs', 'CLUSTER.md'), 'utf8'), '## 4. Configuration');
    const fields = new Map(
      [...text.matchAll(/^\| `(\w+)` \| (\d+) \|/gm)].map(([, name, value]) => [name!, Number(value)]),
    );
    assert.deepEqual(Object.fromEntries(fields), { ...defaultMembershipConfig() });
  });

  it('refuses values out of range with INVALID_CONFIG naming the field', () => {
    assert.throws(() => resolveMembershipConfig({ leaseMs: 0 }), invalid('leaseMs'));
    assert.throws(() => resolveMembershipConfig({ heartbeatMs: 1.5 }), invalid('heartbeatMs'));
    assert.throws(() => resolveMembershipConfig({ heartbeatMs: 5 }), invalid('heartbeatMs'));
    assert.throws(() => resolveMembershipConfig({ refreshMs: 2 ** 31 }), invalid('refreshMs'));
    assert.throws(() => resolveMembershipConfig({ connectTimeoutMs: -1 }), invalid('connectTimeoutMs'));
    assert.throws(
      () => resolveMembershipConfig({ leaseMs: 1_000, heartbeatMs: 600 }),
      invalid('leaseMs must be at least 2 × heartbeatMs'),
    );
    assert.throws(() => resolveMembershipConfig({ fenceMarginMs: 7_000 }), invalid('fenceMarginMs'));
    assert.throws(() => resolveMembershipConfig({ fenceMarginMs: -1 }), invalid('fenceMarginMs'));
    assert.throws(
      () => resolveMembershipConfig({ heartbeatTimeoutMs: 9_500 }),
      invalid('heartbeatTimeoutMs'),
    );
    assert.throws(() => resolveMembershipConfig({ heartbeatTimeoutMs: 5 }), invalid('heartbeatTimeoutMs'));
    assert.throws(() => resolveMembershipConfig({ queryTimeoutMs: 5 }), invalid('queryTimeoutMs'));
    assert.throws(() => resolveMembershipConfig({ queryTimeoutMs: 2.5 }), invalid('queryTimeoutMs'));
    assert.throws(
      () => resolveMembershipConfig({ expiredRetentionMs: 5_000 }),
      invalid('expiredRetentionMs'),
    );
    assert.throws(() => resolveMembershipConfig({ maxStateBytes: 0 }), invalid('maxStateBytes'));
  });

  it('postgresMembership checks its config and schema name before connecting', () => {
    const connection = 'postgres://nobody@127.0.0.1:1/none';
    assert.throws(() => postgresMembership({ connection, config: { refreshMs: 0 } }), invalid('refreshMs'));
    assert.throws(() => postgresMembership({ connection, schema: 'Bad-Name' }), invalid('schema'));
    assert.throws(() => postgresMembership({ connection, schema: 'x; DROP TABLE y' }), invalid('schema'));
  });
});
