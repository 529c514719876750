import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { container, injectable } from 'tsyringe';
import { defaultConfig, resolveConfig, verifyConfig } from '../../src/actors/config.js';
import { actor, actorMetadata, method, methodOptions } from '../../src/actors/decorators.js';
import { isTransportError } from '../../src/transport/errors.js';

const invalid = (e: unknown) => isTransportError(e, 'INVALID_CONFIG');

@injectable()
class Clock {
  now(): number {
    return 42;
  }
}

@actor('timer', { timeoutMs: 1000, concurrency: 2, allow: ['ops'] })
class Timer {
  constructor(readonly clock: Clock) {}

  @method({ timeoutMs: 0, buffer: 8, overflow: 'drop-oldest', allow: ['admin'] })
  ticks(): void {}

  plain(): void {}
}

class SubTimer extends Timer {}

describe('@actor', () => {
  it('records the name and options, also for subclasses', () => {
    assert.deepEqual(actorMetadata(Timer), {
      name: 'timer',
      options: { timeoutMs: 1000, concurrency: 2, allow: ['ops'] },
    });
    assert.equal(actorMetadata(SubTimer)?.name, 'timer');
    assert.equal(actorMetadata(Clock), undefined);
  });

  it('makes the class injectable: constructor parameters are resolved by tsyringe', () => {
    const t = container.createChildContainer().resolve(Timer);
    assert.equal(t.clock.now(), 42);
  });

  it('throws INVALID_CONFIG for a bad name or options', () => {
    assert.throws(() => actor(''), invalid);
    assert.throws(() => actor('x', { concurrency: 0 }), invalid);
    assert.throws(() => actor('x', { timeoutMs: -1 }), invalid);
    assert.throws(() => actor('x', { allow: [''] }), invalid);
  });
});

describe('@method', () => {
  it('records per-method options, looked up the prototype chain', () => {
    const expected = { timeoutMs: 0, buffer: 8, overflow: 'drop-oldest', allow: ['admin'] };
    assert.deepEqual(methodOptions(Timer, 'ticks'), expected);
    assert.deepEqual(methodOptions(SubTimer, 'ticks'), expected);
    assert.equal(methodOptions(Timer, 'plain'), undefined);
  });

  it('throws INVALID_CONFIG for bad options', () => {
    assert.throws(() => method({ buffer: 0 }), invalid);
    assert.throws(() => method({ overflow: 'drop-all' as never }), invalid);
    assert.throws(() => method({ timeoutMs: 1.5 }), invalid);
  });
});

describe('ActorsConfig', () => {
  it('defaults verify; each bad field is named', () => {
    verifyConfig(defaultConfig());
    assert.equal(resolveConfig({ maxMailbox: 0 }).maxMailbox, 0);
    assert.throws(() => resolveConfig({ streamBuffer: 0 }), /streamBuffer/);
    assert.throws(() => resolveConfig({ maxPendingCalls: -1 }), /maxPendingCalls/);
    assert.throws(() => resolveConfig({ reconnectBaseMs: 500, reconnectMaxMs: 100 }), /reconnectMaxMs/);
    assert.throws(() => resolveConfig({ overflow: 'nope' as never }), invalid);
  });
});
