/**
 * Actor calls between two systems over real TLS 1.3 on 127.0.0.1: request/reply, caller identity,
 * errors, deadlines, cancellation and authorization.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastValueFrom, type Observable, of } from 'rxjs';
import { actor, callContext, isRpcError, method, RpcError } from '../../src/actors/index.js';
import { eventually, type Pair, pair } from './actors-pair.js';

/** What the server's handlers saw, for the specs to check. */
const seen = { signals: [] as AbortSignal[] };

@actor('calculator')
class Calculator {
  add(a: number, b: number): number {
    return a + b;
  }
  nothing(): void {}
  huge(): bigint {
    return 2n ** 70n;
  }
  hugeStream(): Observable<bigint> {
    return of(1n, 2n ** 70n, 3n);
  }
  whoami(): { id: string | undefined; name: string | undefined; local: boolean } {
    const ctx = callContext();
    return { id: ctx.caller.id, name: ctx.caller.name, local: ctx.caller.local };
  }
  deadline(): number | undefined {
    const ctx = callContext();
    return ctx.deadline === undefined ? undefined : ctx.deadline - Date.now();
  }
  fail(kind: string): never {
    if (kind === 'rpc')
      throw new RpcError('INVALID_ARGUMENT', 'divisor is zero', { details: { divisor: 0 } });
    throw new TypeError('plain failure');
  }
  async slow(ms: number): Promise<string> {
    const ctx = callContext();
    seen.signals.push(ctx.signal);
    await sleep(ms, undefined, { signal: ctx.signal });
    return 'done';
  }
  @method({ timeoutMs: 40 })
  async slowByDefault(): Promise<string> {
    return this.slow(10_000);
  }
}

@actor('admin', { allow: ['ops'] })
class Admin {
  reset(): string {
    const ctx = callContext();
    return `reset by ${ctx.caller.name}`;
  }
}

@actor('mixed')
class Mixed {
  open(): string {
    return 'open';
  }
  @method({ allow: ['ops'] })
  secret(): string {
    return 'secret';
  }
}

let p: Pair;
afterEach(async () => {
  await p?.close();
});

const code = (c: string) => (e: unknown) => isRpcError(e, c as never);

async function start(options?: Parameters<typeof pair>[0]): Promise<Pair> {
  p = await pair(options);
  await p.server.register(Calculator);
  await p.server.register(Admin);
  await p.server.register(Mixed);
  return p;
}

describe('actors over TLS: request/reply', () => {
  it('calls a remote actor and sees who called', async () => {
    await start();
    const calc = p.client.ref<Calculator>('calculator', p.peer);
    assert.equal(await calc.add(1, 2), 3);
    assert.equal(await calc.nothing(), undefined);
    assert.deepEqual(await calc.whoami(), { id: p.clientId.id, name: 'alice', local: false });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => calc.add(i, i)));
    assert.deepEqual(
      results,
      Array.from({ length: 50 }, (_, i) => 2 * i),
    );
    assert.equal(p.client.stats().pendingCalls, 0);
    assert.equal(p.server.stats().servedCalls, 0);
  });

  it('fails NOT_FOUND for an unknown actor and UNIMPLEMENTED for an unknown method', async () => {
    await start();
    await assert.rejects(p.client.ref<Calculator>('nobody', p.peer).add(1, 2), code('NOT_FOUND'));
    const calc = p.client.ref<Record<string, () => Promise<unknown>>>('calculator', p.peer);
    await assert.rejects(calc.multiply!(), code('UNIMPLEMENTED'));
    await assert.rejects(calc.onStart!(), code('UNIMPLEMENTED'));
  });

  it('fails only the call whose handler throws; stacks stay hidden by default', async () => {
    await start();
    const calc = p.client.ref<Calculator>('calculator', p.peer);
    await assert.rejects(calc.fail('rpc'), (e) => {
      assert.ok(isRpcError(e, 'INVALID_ARGUMENT'));
      assert.equal(e.message, 'divisor is zero');
      assert.deepEqual(e.details, { divisor: 0 });
      assert.equal(e.remoteStack, undefined);
      return true;
    });
    await assert.rejects(
      calc.fail('plain'),
      (e) => isRpcError(e, 'INTERNAL') && e.message === `internal error (id ${e.errorId})`,
    );
    assert.equal(await calc.add(2, 2), 4);
  });

  it('fails INVALID_ARGUMENT for an argument or a result that cannot be sent', async () => {
    await start();
    const calc = p.client.ref<Calculator>('calculator', p.peer);
    await assert.rejects(calc.add(2 ** 70, (2n ** 70n) as unknown as number), code('INVALID_ARGUMENT'));
    await assert.rejects(calc.huge(), code('INVALID_ARGUMENT'));
    await assert.rejects(lastValueFrom(calc.hugeStream()), code('INVALID_ARGUMENT'));
    assert.equal(await calc.add(1, 1), 2, 'the connection goes on');
  });

  it('sends the handler stack when the server enables exposeStackTraces', async () => {
    await start({ server: { config: { exposeStackTraces: true } } });
    await assert.rejects(p.client.ref<Calculator>('calculator', p.peer).fail('plain'), (e) => {
      assert.ok(isRpcError(e, 'INTERNAL'));
      assert.match(e.remoteStack ?? '', /TypeError: plain failure[\s\S]*fail/);
      return true;
    });
  });
});

describe('actors over TLS: deadlines and cancellation', () => {
  it('a deadline aborts the server handler signal and fails the call DEADLINE_EXCEEDED', async () => {
    await start();
    seen.signals = [];
    const calc = p.client.ref<Calculator>('calculator', p.peer);
    // Connected first: the time to dial counts against a deadline, and could take all of it.
    assert.equal(await calc.add(1, 1), 2);
    await assert.rejects(calc.withOptions({ timeoutMs: 50 }).slow(10_000), code('DEADLINE_EXCEEDED'));
    await eventually(
      () => seen.signals.length === 1 && seen.signals[0]!.aborted,
      'the handler signal to abort',
    );
    // The relative timeout reached the server: its context has a deadline about 1 s ahead.
    const left = await calc.withOptions({ timeoutMs: 1000 }).deadline();
    assert.ok(left !== undefined && left > 500 && left <= 1000, `deadline in ${left} ms`);
    assert.equal(await calc.deadline(), undefined);
  });

  it("a method's default deadline applies on the server when the call sets none", async () => {
    await start();
    seen.signals = [];
    await assert.rejects(
      p.client.ref<Calculator>('calculator', p.peer).slowByDefault(),
      code('DEADLINE_EXCEEDED'),
    );
    assert.ok(isRpcError(seen.signals[0]!.reason, 'DEADLINE_EXCEEDED'));
  });

  it('aborting the AbortSignal cancels the call and the server handler', async () => {
    await start();
    seen.signals = [];
    const calc = p.client.ref<Calculator>('calculator', p.peer);
    const ac = new AbortController();
    const call = calc.withOptions({ signal: ac.signal }).slow(10_000);
    await eventually(() => seen.signals.length === 1, 'the call to reach the server');
    ac.abort();
    await assert.rejects(call, code('CANCELLED'));
    await eventually(() => seen.signals[0]!.aborted, 'the handler signal to abort');
    assert.ok(isRpcError(seen.signals[0]!.reason, 'CANCELLED'));
    await assert.rejects(calc.withOptions({ signal: ac.signal }).add(1, 1), code('CANCELLED'));
    await eventually(() => p.server.stats().servedCalls === 0, 'the server to finish the call');
  });
});

describe('actors over TLS: authorization', () => {
  it('denies an actor to callers not in its allow list, by name or key id', async () => {
    await start();
    await assert.rejects(p.client.ref<Admin>('admin', p.peer).reset(), code('PERMISSION_DENIED'));
    const ops = p.opsClient();
    assert.equal(await ops.ref<Admin>('admin', p.peer).reset(), 'reset by ops');
    await p.server.register('by-key', Admin, { allow: [p.clientId.id] });
    assert.equal(await p.client.ref<Admin>('by-key', p.peer).reset(), 'reset by alice');
    await assert.rejects(ops.ref<Admin>('by-key', p.peer).reset(), code('PERMISSION_DENIED'));
  });

  it('denies a method to callers not in its allow list', async () => {
    await start();
    const mixed = p.client.ref<Mixed>('mixed', p.peer);
    assert.equal(await mixed.open(), 'open');
    await assert.rejects(mixed.secret(), code('PERMISSION_DENIED'));
    assert.equal(await p.opsClient().ref<Mixed>('mixed', p.peer).secret(), 'secret');
  });

  it('fails UNAUTHENTICATED when the server does not prove the pinned key', async () => {
    await start();
    const wrong = { ...p.peer, key: p.clientId.id };
    await assert.rejects(p.client.ref<Calculator>('calculator', wrong).add(1, 2), code('UNAUTHENTICATED'));
  });
});
