import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig, resolveConfig, verifyConfig } from '../../../src/transport/channel/config.js';
import { isTransportError } from '../../../src/transport/errors.js';

describe('channel config', () => {
  it('has the documented defaults, which verify', () => {
    const c = defaultConfig();
    assert.deepEqual(c, {
      maxMessageSize: 4 * 1024 * 1024,
      maxUnclaimedStreams: 256,
      maxReferencesPerMessage: 64,
      maxNestingDepth: 32,
      maxAcceptBacklog: 128,
    });
    verifyConfig(c);
  });

  it('overlays a partial config and ignores undefined fields', () => {
    const c = resolveConfig({ maxMessageSize: 1000, maxAcceptBacklog: undefined });
    assert.equal(c.maxMessageSize, 1000);
    assert.equal(c.maxAcceptBacklog, 128);
  });

  it('allows 0 where 0 has a meaning', () => {
    resolveConfig({ maxUnclaimedStreams: 0, maxReferencesPerMessage: 0, maxAcceptBacklog: 0 });
  });

  for (const [key, value] of [
    ['maxMessageSize', 0],
    ['maxMessageSize', 2 ** 32],
    ['maxMessageSize', 1.5],
    ['maxNestingDepth', 0],
    ['maxNestingDepth', 1001],
    ['maxUnclaimedStreams', -1],
    ['maxReferencesPerMessage', Number.NaN],
    ['maxAcceptBacklog', '3'],
    ['noSuchField', 1],
  ] as const) {
    it(`rejects ${key} = ${String(value)} with INVALID_CONFIG`, () => {
      assert.throws(
        () => resolveConfig({ [key]: value } as never),
        (err: unknown) => isTransportError(err, 'INVALID_CONFIG') && err.message.includes(key),
      );
    });
  }
});
