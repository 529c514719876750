/**
 * Malformed-looking arguments over TLS 1.3 (issue 11 #6): an argument holding a `__proto__` key (what
 * `JSON.parse` makes of `{"__proto__": ...}`) reaches the handler as a plain own property, with no
 * prototype changed and no stream reset (before: the stream was reset and the caller saw UNAVAILABLE);
 * and a 64-bit integer in the safe range (what another MessagePack encoder sends for a small number)
 * reaches the handler as a number (before: a BigInt, and arithmetic failed UNKNOWN).
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { actor } from '../../src/actors/index.js';
import { type Pair, pair } from './actors-pair.js';

@actor('inspect')
class Inspect {
  describe(value: Record<string, unknown>): { own: boolean; proto: boolean; keys: string[] } {
    return {
      own: Object.hasOwn(value, '__proto__'),
      proto: Object.getPrototypeOf(value) === Object.prototype,
      keys: Object.keys(value),
    };
  }
  add(a: number, b: number): { sum: number; type: string } {
    return { sum: a + b, type: typeof a };
  }
}

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('actors over TLS: arguments that look malformed', () => {
  it('a __proto__ key is a plain own property for the handler; the call is answered', async () => {
    p = await pair();
    await p.server.register(Inspect);
    const inspect = p.client.ref<Inspect>('inspect', p.peer);
    const parsed = JSON.parse('{"a": 1, "__proto__": {"polluted": true}}') as Record<string, unknown>;
    assert.deepEqual(await inspect.describe(parsed), { own: true, proto: true, keys: ['a', '__proto__'] });
    assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'no prototype anywhere was changed');
  });

  it('a 64-bit integer in the safe range is a number for the handler', async () => {
    p = await pair();
    await p.server.register(Inspect);
    const inspect = p.client.ref<Inspect>('inspect', p.peer);
    // A bigint is sent as int 64 / uint 64, as other encoders send small numbers.
    assert.deepEqual(await inspect.add(5n as unknown as number, 1), { sum: 6, type: 'number' });
    assert.deepEqual(await inspect.add(-(2n ** 53n - 1n) as unknown as number, 1), {
      sum: -(2 ** 53) + 2,
      type: 'number',
    });
  });
});
