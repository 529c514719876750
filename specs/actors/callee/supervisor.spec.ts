import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultRestartOptions,
  RestartBudget,
  verifySupervision,
} from '../../../src/actors/callee/supervisor.js';
import { actor } from '../../../src/actors/decorators.js';
import { isTransportError } from '../../../src/transport/errors.js';

const invalid = (field: string) => (e: unknown) =>
  isTransportError(e, 'INVALID_CONFIG') && e.message.includes(field);

describe('restart policy', () => {
  it('takes never, on-failure and an object of limits; anything else is INVALID_CONFIG naming the field', () => {
    for (const ok of [undefined, 'never', 'on-failure', {}, { maxRestarts: 1, withinMs: 0, backoffMs: 0 }]) {
      assert.doesNotThrow(() => verifySupervision(ok, undefined), String(ok));
    }
    assert.doesNotThrow(() => verifySupervision({ maxBackoffMs: undefined }, () => true));
    const bad: [unknown, string][] = [
      ['always', 'restart'],
      [null, 'restart'],
      [[], 'restart'],
      [{ maxRestarts: 0 }, 'restart.maxRestarts'],
      [{ maxRestarts: 1.5 }, 'restart.maxRestarts'],
      [{ withinMs: -1 }, 'restart.withinMs'],
      [{ backoffMs: Number.NaN }, 'restart.backoffMs'],
      [{ backoffMs: 500, maxBackoffMs: 100 }, 'restart.maxBackoffMs'],
      [{ maxBackoffMs: 2 ** 31 }, 'restart.maxBackoffMs'],
      [{ retries: 3 }, 'restart.retries'],
    ];
    for (const [restart, field] of bad) {
      assert.throws(() => verifySupervision(restart, undefined), invalid(field), JSON.stringify(restart));
    }
    assert.throws(() => verifySupervision('on-failure', 'yes'), invalid('fatal'));
    // Through the decorator too.
    assert.throws(() => actor('x', { restart: { maxRestarts: -1 } }), invalid('restart.maxRestarts'));
  });

  it('backs off exponentially, capped, and refuses the restart beyond maxRestarts within withinMs', () => {
    const budget = new RestartBudget({ maxRestarts: 5, withinMs: 1_000, backoffMs: 100, maxBackoffMs: 500 });
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((t) => budget.take(t)),
      [100, 200, 400, 500, 500],
    );
    assert.equal(budget.take(5), undefined, 'the sixth restart within the window');
    assert.equal(budget.used, 5);
    // The first restarts leave the window: room again, and the backoff follows the restarts in it.
    assert.equal(budget.take(1_001), 500, 'two left the window: three remain, this is the fourth');
    assert.equal(budget.take(1_001), 500);
    assert.equal(budget.take(1_001), undefined, 'five within the window again');
    assert.equal(budget.describe(), '5 restarts within 1000 ms');
  });

  it('defaults to 10 restarts within 60 s, from 100 ms to 10 s; withinMs 0 counts them for good', () => {
    assert.deepEqual(defaultRestartOptions(), {
      maxRestarts: 10,
      withinMs: 60_000,
      backoffMs: 100,
      maxBackoffMs: 10_000,
    });
    const budget = new RestartBudget('on-failure');
    const waits = Array.from({ length: 10 }, (_, i) => budget.take(i));
    assert.deepEqual(waits, [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]);
    assert.equal(budget.take(10), undefined);
    const forever = new RestartBudget({ maxRestarts: 2, withinMs: 0, backoffMs: 0 });
    assert.equal(forever.take(0), 0);
    assert.equal(forever.take(1e12), 0);
    assert.equal(forever.take(2e12), undefined, 'no window: the third restart, ever, is refused');
    assert.equal(forever.describe(), '2 restarts');
  });
});
