/** Multiplexer configuration: the documented defaults, and verifyConfig rejecting what cannot work. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTransportError } from '../../../src/transport/errors.js';
import {
  defaultConfig,
  type MuxConfig,
  resolveConfig,
  verifyConfig,
} from '../../../src/transport/mux/config.js';
import { Session } from '../../../src/transport/mux/index.js';
import { memoryDuplexPair } from '../../support/memory-duplex.js';

describe('mux config', () => {
  it('has the documented defaults, and they verify', () => {
    assert.deepEqual(defaultConfig(), {
      streamWindow: 256 * 1024,
      maxStreamWindow: 16 * 1024 * 1024,
      windowGrowthBudget: 32 * 1024 * 1024,
      maxConcurrentStreams: 4096,
      maxAcceptBacklog: 256,
      maxFrameLength: 16 * 1024 * 1024,
      maxSendFrame: 64 * 1024,
      keepAliveIntervalMs: 15_000,
      keepAliveTimeoutMs: 10_000,
      closeTimeoutMs: 5_000,
      writeHighWaterMark: 256 * 1024,
      separateFin: false,
      maxBufferedBytes: 16 * 1024 * 1024,
    });
    verifyConfig(defaultConfig());
    assert.notEqual(defaultConfig(), defaultConfig(), 'a fresh object each time');
  });

  const bad: [string, Partial<MuxConfig>][] = [
    ['a window below 256 KiB', { streamWindow: 1000 }],
    ['a window above 2^32-1', { streamWindow: 2 ** 32, maxStreamWindow: 2 ** 32 }],
    ['a max window below the window', { streamWindow: 1024 * 1024, maxStreamWindow: 512 * 1024 }],
    ['a max window above 2^32-1', { maxStreamWindow: 2 ** 32 }],
    ['a negative growth budget', { windowGrowthBudget: -1 }],
    ['zero concurrent streams', { maxConcurrentStreams: 0 }],
    ['a negative backlog', { maxAcceptBacklog: -1 }],
    ['a fractional frame size', { maxSendFrame: 1.5 }],
    ['a frame length below the window', { maxFrameLength: 1024 }],
    ['a NaN interval', { keepAliveIntervalMs: Number.NaN }],
    ['keepalive on with a zero timeout', { keepAliveIntervalMs: 10, keepAliveTimeoutMs: 0 }],
    ['a zero high-water mark', { writeHighWaterMark: 0 }],
    ['a string', { closeTimeoutMs: '5' as unknown as number }],
    ['separateFin not a boolean', { separateFin: 1 as unknown as boolean }],
    ['a zero inbound budget', { maxBufferedBytes: 0 }],
  ];
  for (const [name, partial] of bad) {
    it(`rejects ${name} with INVALID_CONFIG`, () => {
      assert.throws(
        () => verifyConfig({ ...defaultConfig(), ...partial }),
        (e) => isTransportError(e, 'INVALID_CONFIG'),
      );
      const [a, b] = memoryDuplexPair();
      assert.throws(
        () => new Session(a, 'client', partial),
        (e) => isTransportError(e, 'INVALID_CONFIG'),
      );
      a.destroy();
      b.destroy();
    });
  }

  it('accepts the edges: no keepalive, no backlog, close at once', () => {
    const c = resolveConfig({
      keepAliveIntervalMs: 0,
      keepAliveTimeoutMs: 0,
      maxAcceptBacklog: 0,
      closeTimeoutMs: 0,
    });
    assert.equal(c.keepAliveIntervalMs, 0);
    assert.equal(c.maxConcurrentStreams, 4096, 'unset fields keep their default');
    assert.equal(resolveConfig({ streamWindow: undefined }).streamWindow, 256 * 1024);
  });
});
