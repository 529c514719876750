/**
 * A caller that passes a callback and then goes quiet, over mutual TLS 1.3: the handler calls the
 * callback, the callback never answers, and the caller cancels its call (or its deadline passes).
 *
 * The call has ended for the caller, so it must end on the server too: the handler's pending callback
 * call fails (CANCELLED, or DEADLINE_EXCEEDED) instead of waiting for an answer that the peer no longer
 * owes, the handler returns, and the server's served-call count goes back to 0 — otherwise every such
 * call would hold a slot of maxCallsPerConnection until the connection closes.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { actor, isRpcError, type RpcError } from '../../src/actors/index.js';
import { type FaultPair, faultPair } from '../support/fault-pair.js';
import { eventually } from './actors-pair.js';

const seen = { outcome: undefined as unknown, handlerEnded: false };

@actor('asker', { concurrency: 4 })
class Asker {
  /** Asks the caller and waits for the answer, whatever happens to its own call. */
  async ask(question: (q: string) => Promise<string>): Promise<string> {
    try {
      seen.outcome = await question('why?');
    } catch (err) {
      seen.outcome = err;
    } finally {
      seen.handlerEnded = true;
    }
    return 'asked';
  }
}

let p: FaultPair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

for (const how of ['cancel', 'deadline'] as const) {
  describe(`faults: a callback that never answers, then the caller's ${how}`, () => {
    it('the pending callback call fails, the handler ends, the served call is released', async () => {
      Object.assign(seen, { outcome: undefined, handlerEnded: false });
      p = await faultPair();
      await p.server.register(Asker);
      const asker = p.client.ref<Asker>('asker', p.peer);
      let asked = false;
      const silent = (_q: string) =>
        new Promise<string>(() => {
          asked = true;
        });
      const ac = new AbortController();
      const call =
        how === 'cancel'
          ? asker.withOptions({ signal: ac.signal }).ask(silent)
          : asker.withOptions({ timeoutMs: 300 }).ask(silent);
      await eventually(() => p!.server.stats().servedCalls === 1 && asked, 'the question');
      if (how === 'cancel') ac.abort();
      await assert.rejects(call, (e) => isRpcError(e, how === 'cancel' ? 'CANCELLED' : 'DEADLINE_EXCEEDED'));

      await eventually(() => seen.handlerEnded, 'the handler to end', 3_000);
      const code = (seen.outcome as RpcError).code;
      assert.ok(isRpcError(seen.outcome), `the callback call fails, got ${String(seen.outcome)}`);
      assert.ok(['CANCELLED', 'DEADLINE_EXCEEDED'].includes(code), code);
      await eventually(() => p!.server.stats().servedCalls === 0, 'the served call to be released', 3_000);
      assert.equal(p.client.stats().pendingCalls, 0);
    });
  });
}
