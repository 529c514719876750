/**
 * Load, small enough for `npm test`: LOAD_CONNECTIONS client connections (default 50) x LOAD_CALLS calls
 * each (default 100), all at once, over mutual TLS 1.3 on 127.0.0.1, with random short deadlines and
 * cancellations mixed in (specs/support/fault-load.ts). The 200 x 500, and longer runs, are
 * `scripts/soak.mjs`, which reports the same figures.
 *
 * No call is lost or answered twice, every reply is its caller's own, every plain call succeeds, every
 * deadline and cancel ends typed; every stream table is back to the mailbox channels and every counter
 * to 0; the server drops every connection once the clients close; after GC, RSS is within 50 MiB of
 * its baseline and the JS heap within 16 MiB (only when a forced GC can be had; otherwise the figures
 * are reported and not asserted).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runLoad } from '../support/fault-load.js';

const connections = Number(process.env.LOAD_CONNECTIONS ?? 50);
const calls = Number(process.env.LOAD_CALLS ?? 100);
const RSS_SLACK_MIB = 50;
/** The JS heap after GC: what the calls left reachable. RSS also keeps freed native memory (TLS, malloc). */
const HEAP_SLACK_MIB = 16;

describe('load (TLS)', () => {
  it(`${connections} connections x ${calls} calls with deadlines and cancels: nothing lost, doubled or left behind`, async (t) => {
    const r = await runLoad({ connections, callsPerConnection: calls });
    t.diagnostic(
      `${r.connections} connected in ${r.connectMs} ms; ${r.calls} calls in ${r.elapsedMs} ms (${r.callsPerSecond}/s): ` +
        `${r.ok} ok (${r.beatTheEnd.deadline + r.beatTheEnd.cancel} of them beat their deadline or cancel), ` +
        `${r.deadlineExceeded} deadline, ` +
        `${r.cancelled} cancelled; RSS ${r.rss.baseline} -> peak ${r.rss.peak} -> ${r.rss.after} MiB, ` +
        `heap ${r.heap.baseline} -> ${r.heap.after} MiB; tables settled ${r.streamsAfter.settleMs} ms after the last call` +
        (r.rss.gc ? ' (after GC)' : ' (no forced GC)'),
    );
    assert.equal(r.lost, 0, 'calls lost');
    assert.equal(r.ranTwice, 0, 'handlers run twice for one call');
    assert.equal(r.answeredTwice, 0, 'calls answered twice');
    assert.equal(r.wrongReply, 0, "replies that were another call's");
    assert.equal(r.okWithoutAnswer, 0, 'successes the handler never answered');
    assert.equal(r.plainFailed, 0, 'plain calls that failed');
    assert.deepEqual(r.otherErrors, {}, 'unexpected errors');
    assert.equal(r.ok + r.deadlineExceeded + r.cancelled, r.calls);
    assert.ok(r.ok > 0 && r.deadlineExceeded + r.cancelled > 0, 'both successes and early ends happened');
    assert.deepEqual(r.countersAfter, { served: 0, pending: 0, buffered: 0 });
    assert.equal(
      r.streamsAfter.server,
      r.streamsAfter.expected,
      'server streams: none left once the calls ended',
    );
    assert.equal(
      r.streamsAfter.clients,
      r.streamsAfter.expected,
      'client streams: none left once the calls ended',
    );
    assert.equal(r.connectionsAfterClose, 0);
    if (r.rss.gc) {
      assert.ok(
        r.rss.after - r.rss.baseline <= RSS_SLACK_MIB,
        `RSS ${r.rss.after} MiB after, baseline ${r.rss.baseline} MiB: more than ${RSS_SLACK_MIB} MiB above`,
      );
      assert.ok(
        r.heap.after - r.heap.baseline <= HEAP_SLACK_MIB,
        `heap ${r.heap.after} MiB after, baseline ${r.heap.baseline} MiB: more than ${HEAP_SLACK_MIB} MiB above`,
      );
    } else {
      t.diagnostic('RSS not asserted: no forced GC available (run with --expose-gc)');
    }
  });
});
