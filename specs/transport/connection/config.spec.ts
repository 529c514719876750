import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../../src/transport/connection/config.js';
import {
  type ConnectionConfig,
  defaultConfig,
  verifyConfig,
} from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';

describe('connection config', () => {
  it('has valid defaults', () => {
    const c = defaultConfig();
    verifyConfig(c);
    assert.equal(c.handshakeTimeoutMs, 5000);
    assert.equal(c.maxHandshakes, 64);
    assert.equal(c.maxConnections, 10_000);
    assert.equal(c.certificateValidityMs, 24 * 3600 * 1000);
  });

  it('refuses bad values with INVALID_CONFIG naming the field', () => {
    const bad: [keyof ConnectionConfig, number][] = [
      ['handshakeTimeoutMs', -1],
      ['handshakeTimeoutMs', 1.5],
      ['handshakeTimeoutMs', 2 ** 31],
      ['maxHandshakes', -1],
      ['maxConnections', Number.NaN],
      ['certificateValidityMs', 1000],
      ['certificateRenewBeforeMs', 24 * 3600 * 1000],
      ['clockToleranceMs', -5],
      ['sessionTicketLifetimeMs', 500],
      ['sessionTicketLifetimeMs', 8 * 24 * 3600 * 1000],
      ['rejectLingerMs', 120_000],
    ];
    for (const [field, value] of bad) {
      const c = { ...defaultConfig(), [field]: value };
      assert.throws(
        () => verifyConfig(c),
        (err: unknown) => isTransportError(err, 'INVALID_CONFIG') && err.message.includes(field),
        `${field}=${value}`,
      );
    }
  });

  it('resolves options over the defaults, verifying what was given', () => {
    assert.deepEqual(resolveConfig({}), defaultConfig());
    assert.deepEqual(resolveConfig(undefined), defaultConfig());
    assert.equal(resolveConfig({ handshakeTimeoutMs: 100 }).handshakeTimeoutMs, 100);
    const withOthers = { handshakeTimeoutMs: 200, host: 'x' } as Partial<ConnectionConfig>;
    assert.equal(resolveConfig(withOthers).handshakeTimeoutMs, 200);
    assert.throws(
      () => resolveConfig({ rejectLingerMs: -1 }),
      (err: unknown) => isTransportError(err, 'INVALID_CONFIG') && err.message.includes('rejectLingerMs'),
    );
    const a = resolveConfig({});
    a.maxHandshakes = 1;
    assert.equal(resolveConfig({}).maxHandshakes, 64, 'each caller gets its own object');
  });
});
