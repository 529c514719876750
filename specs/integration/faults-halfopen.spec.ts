/**
 * A half-open connection under actor calls, over mutual TLS 1.3: a proxy between client and server
 * stops forwarding in both directions but keeps both TCP connections open — each side's peer is alive
 * to the kernel and never answers (a hung host, a dead NAT entry, a cable pulled mid-path). No byte and
 * no FIN arrive, so only keepalive can tell.
 *
 * Both sides find out within keepAliveIntervalMs + keepAliveTimeoutMs (plus scheduling slack): the
 * pending call and the subscription fail UNAVAILABLE (cause KEEPALIVE_TIMEOUT), the server's handler is
 * aborted, both sessions end with empty tables; once the path works again the same ref dials anew.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { interval, type Observable } from 'rxjs';
import { actor, callContext, isRpcError, type RpcError } from '../../src/actors/index.js';
import { isTransportError } from '../../src/transport/errors.js';
import { type FaultPair, faultPair } from '../support/fault-pair.js';
import { muxSessions } from '../support/fault-probe.js';
import { eventually } from './actors-pair.js';

const KEEPALIVE = { keepAliveIntervalMs: 200, keepAliveTimeoutMs: 300 };
/** Timers, TLS and the event loop of two systems in one process: generous, still far below the 25 s default. */
const SLACK_MS = 1_500;

const signals: AbortSignal[] = [];

@actor('hung', { concurrency: 4 })
class Hung {
  ping(): string {
    return 'pong';
  }
  async hold(ms: number): Promise<string> {
    const ctx = callContext();
    signals.push(ctx.signal);
    await sleep(ms, undefined, { signal: ctx.signal });
    return 'held';
  }
  ticks(): Observable<number> {
    return interval(5);
  }
}

let p: FaultPair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('faults: a half-open connection (TLS, through a proxy that stops forwarding)', () => {
  it('keepalive detects it on both sides within interval + timeout; calls fail UNAVAILABLE; the ref redials', async (t) => {
    signals.length = 0;
    p = await faultPair({ proxy: true, server: { mux: KEEPALIVE }, client: { mux: KEEPALIVE } });
    await p.server.register(Hung);
    const hung = p.client.ref<Hung>('hung', p.peer);
    assert.equal(await hung.ping(), 'pong');
    const pending = hung.hold(60_000).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    let items = 0;
    const subscription = new Promise<unknown>((resolve) =>
      hung.ticks().subscribe({ next: () => items++, error: resolve, complete: () => resolve('completed') }),
    );
    await eventually(() => signals.length === 1 && items > 0, 'the call and the subscription to be live');
    const [serverSession] = muxSessions(p.server);
    const [clientSession] = muxSessions(p.client);

    p.proxy!.freeze();
    const frozenAt = Date.now();
    const bound = KEEPALIVE.keepAliveIntervalMs + KEEPALIVE.keepAliveTimeoutMs + SLACK_MS;

    const err = (await pending) as RpcError;
    const clientDetected = Date.now() - frozenAt;
    assert.ok(isRpcError(err, 'UNAVAILABLE'), `the call fails UNAVAILABLE, got ${String(err)}`);
    assert.ok(
      isTransportError(err.cause, 'KEEPALIVE_TIMEOUT'),
      `caused by KEEPALIVE_TIMEOUT: ${String(err.cause)}`,
    );
    assert.ok(clientDetected <= bound, `client detected it in ${clientDetected} ms (bound ${bound})`);
    assert.ok(isRpcError(await subscription, 'UNAVAILABLE'), 'the subscription errors UNAVAILABLE');

    // The server has its own keepalive: it finds out by itself (nothing reaches it through the proxy).
    await eventually(() => signals[0]!.aborted, 'the server handler to be aborted', bound);
    const serverDetected = Date.now() - frozenAt;
    assert.ok(serverDetected <= bound, `server detected it in ${serverDetected} ms (bound ${bound})`);
    assert.equal((signals[0]!.reason as RpcError).code, 'UNAVAILABLE');
    for (const s of [serverSession!, clientSession!]) {
      assert.ok(isTransportError(await s.closed, 'KEEPALIVE_TIMEOUT'));
      assert.equal(s.streamCount, 0);
    }
    await eventually(
      () => p!.server.stats().connections === 0 && p!.server.stats().servedCalls === 0,
      'server idle',
    );
    assert.equal(p.client.stats().pendingCalls, 0);
    t.diagnostic(
      `half-open detected by the client in ${clientDetected} ms, by the server in ${serverDetected} ms`,
    );

    // The path works again: the same ref dials a new connection.
    p.proxy!.thaw();
    assert.equal(await hung.ping(), 'pong');
    assert.equal(p.proxy!.accepted, 2);
  });
});
