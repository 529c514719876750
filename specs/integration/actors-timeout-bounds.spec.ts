/**
 * A timeoutMs above MAX_TIMEOUT_MS (2^31-1 ms, what a Node timer can wait) in options is refused: in
 * actor and method options (INVALID_CONFIG), in a call's options (INVALID_ARGUMENT, locally and
 * remotely). Before, it was taken, and Node fired the timer after 1 ms with a TimeoutOverflowWarning:
 * every call failed DEADLINE_EXCEEDED at once.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { callContext, isRpcError } from '../../src/actors/index.js';
import { MAX_TIMEOUT_MS } from '../../src/actors/wire.js';
import { isTransportError } from '../../src/transport/errors.js';
import { type Pair, pair } from './actors-pair.js';

class Slow {
  async wait(ms: number): Promise<string> {
    await sleep(ms, undefined, { signal: callContext().signal });
    return 'done';
  }
}

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});
const warnings: string[] = [];
process.on('warning', (w) => warnings.push(w.name));

describe('a timeoutMs beyond MAX_TIMEOUT_MS', () => {
  it('in @actor / register options: refused INVALID_CONFIG, or else honoured (not a deadline of 1 ms)', async () => {
    p = await pair();
    let refused = false;
    try {
      await p.server.register('slow', Slow, { timeoutMs: MAX_TIMEOUT_MS + 1 });
    } catch (e) {
      refused = isTransportError(e, 'INVALID_CONFIG');
    }
    assert.ok(refused, 'refused INVALID_CONFIG');
    assert.deepEqual(warnings, []);
  });

  it('in withOptions: the call is refused INVALID_ARGUMENT (ERRORS.md 6.6), with no process warning', async () => {
    p = await pair();
    await p.server.register('slow', Slow);
    for (const ref of [p.client.ref<Slow>('slow', p.peer), p.server.ref<Slow>('slow')]) {
      await assert.rejects(ref.withOptions({ timeoutMs: MAX_TIMEOUT_MS + 1 }).wait(50), (e) =>
        isRpcError(e, 'INVALID_ARGUMENT'),
      );
      await assert.rejects(ref.withOptions({ timeoutMs: -5 }).wait(50), (e) =>
        isRpcError(e, 'INVALID_ARGUMENT'),
      );
      assert.equal(await ref.withOptions({ timeoutMs: MAX_TIMEOUT_MS }).wait(5), 'done');
    }
    assert.deepEqual(warnings, []);
  });
});
