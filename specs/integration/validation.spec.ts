/**
 * `@method({ params, result })` with Standard Schemas from zod and from valibot, over real TLS 1.3:
 * invalid arguments are answered INVALID_ARGUMENT with the issues, before the handler runs (the issue's
 * `add('1', { x: 2 })` returned '1[object Object]'); the handler gets the schemas' outputs; an invalid
 * result is INTERNAL for the caller and reported with its issues on the callee; stream items are checked
 * one by one; local calls are checked too.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { from, lastValueFrom, type Observable, toArray } from 'rxjs';
import * as v from 'valibot';
import { z } from 'zod';
import { ActorSystem, actor, isRpcError, method, type RpcError } from '../../src/actors/index.js';
import { type Pair, pair } from './actors-pair.js';

let ran = 0;
const reported: unknown[] = [];

@actor('zcalc')
class ZodCalc {
  @method({ params: [z.number(), z.number()], result: z.number() })
  add(a: number, b: number): number {
    ran++;
    return a + b;
  }
  @method({ params: [z.object({ name: z.string().trim(), tags: z.array(z.string()).default([]) })] })
  normalize(input: { name: string; tags: string[] }): { name: string; tags: string[] } {
    return input;
  }
  @method({ params: [z.number()], result: z.number() })
  broken(n: number): number {
    return `${n}` as unknown as number;
  }
  @method({ params: [z.number().int().positive()], result: z.number() })
  count(n: number): Observable<number> {
    return from(n === 3 ? [1, 2, 'three' as unknown as number] : [1, 2]);
  }
  @method({ params: [z.string().refine(async (s) => s !== 'taken', 'name taken')] })
  async claim(name: string): Promise<string> {
    return `claimed ${name}`;
  }
}

@actor('vcalc')
class ValibotCalc {
  @method({ params: [v.number(), v.number()], result: v.number() })
  add(a: number, b: number): number {
    ran++;
    return a + b;
  }
  @method({ params: [v.object({ when: v.pipe(v.string(), v.isoDate()) })] })
  book(input: { when: string }): string {
    return input.when;
  }
}

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
  ran = 0;
  reported.length = 0;
});

async function setup(): Promise<Pair> {
  p = await pair({ server: { onError: (e) => reported.push(e) } });
  await p.server.register(ZodCalc);
  await p.server.register(ValibotCalc);
  return p;
}

function invalid(e: unknown): e is RpcError {
  return isRpcError(e, 'INVALID_ARGUMENT');
}

describe('validation with zod', () => {
  it("answers add('1', { x: 2 }) INVALID_ARGUMENT with the issues, and the handler does not run", async () => {
    const { client, peer } = await setup();
    const calc = client.ref<ZodCalc>('zcalc', peer);
    const err = await (calc.add as unknown as (a: unknown, b: unknown) => Promise<number>)('1', {
      x: 2,
    }).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(invalid(err), String(err));
    const { issues } = err.details as { issues: { message: string; path: (string | number)[] }[] };
    assert.deepEqual(
      issues.map((i) => i.path),
      [[0], [1]],
    );
    assert.match(err.message, /zcalc\.add: argument 0: /);
    assert.match(err.message, /and 1 more issue/);
    assert.equal(ran, 0);
    assert.equal(await calc.add(1, 2), 3);
    assert.equal(ran, 1);
  });

  it('refuses more arguments than schemas', async () => {
    const { client, peer } = await setup();
    const calc = client.ref<ZodCalc>('zcalc', peer);
    await assert.rejects(
      (calc.add as unknown as (...a: number[]) => Promise<number>)(1, 2, 3),
      (e) => invalid(e) && /at most 2 argument/.test(e.message),
    );
  });

  it('gives the handler the schemas’ outputs (trim, defaults), and nested paths in issues', async () => {
    const { client, peer } = await setup();
    const calc = client.ref<ZodCalc>('zcalc', peer);
    assert.deepEqual(await calc.normalize({ name: '  ann ' } as never), { name: 'ann', tags: [] });
    await assert.rejects(calc.normalize({ name: 'x', tags: [1] } as never), (e) => {
      assert.ok(invalid(e));
      const { issues } = e.details as { issues: { path: unknown[] }[] };
      assert.deepEqual(issues[0]!.path, [0, 'tags', 0]);
      return true;
    });
  });

  it('runs async schemas before the handler', async () => {
    const { client, peer } = await setup();
    const calc = client.ref<ZodCalc>('zcalc', peer);
    assert.equal(await calc.claim('free'), 'claimed free');
    await assert.rejects(calc.claim('taken'), (e) => invalid(e) && /name taken/.test(e.message));
  });

  it('answers an invalid result INTERNAL and reports its issues on the callee', async () => {
    const { client, peer } = await setup();
    const calc = client.ref<ZodCalc>('zcalc', peer);
    await assert.rejects(calc.broken(1), (e) => {
      assert.ok(isRpcError(e, 'INTERNAL'));
      assert.match(e.message, /the result does not match its schema/);
      assert.equal(e.details, undefined);
      return true;
    });
    assert.equal(reported.length, 1);
    const report = reported[0] as RpcError;
    assert.ok(Array.isArray((report.details as { issues: unknown[] }).issues));
  });

  it('checks each item of a stream result', async () => {
    const { client, peer } = await setup();
    const calc = client.ref<ZodCalc>('zcalc', peer);
    assert.deepEqual(await lastValueFrom(calc.count(2).pipe(toArray())), [1, 2]);
    const items: number[] = [];
    const err = await new Promise<unknown>((resolve) =>
      calc
        .count(3)
        .subscribe({ next: (n) => items.push(n), error: resolve, complete: () => resolve(undefined) }),
    );
    assert.deepEqual(items, [1, 2]);
    assert.ok(isRpcError(err, 'INTERNAL'), String(err));
    await assert.rejects(lastValueFrom(calc.count(-1)), (e) => invalid(e));
  });
});

describe('validation with valibot', () => {
  it('answers bad arguments INVALID_ARGUMENT with the issues and passes good ones', async () => {
    const { client, peer } = await setup();
    const calc = client.ref<ValibotCalc>('vcalc', peer);
    await assert.rejects(
      (calc.add as unknown as (a: unknown, b: unknown) => Promise<number>)('1', 2),
      (e) => {
        assert.ok(invalid(e));
        const { issues } = e.details as { issues: { path: unknown[]; message: string }[] };
        assert.deepEqual(issues[0]!.path, [0]);
        assert.equal(typeof issues[0]!.message, 'string');
        return true;
      },
    );
    assert.equal(ran, 0);
    assert.equal(await calc.add(2, 3), 5);
    assert.equal(await calc.book({ when: '2026-12-07' }), '2026-12-07');
    await assert.rejects(calc.book({ when: 'tomorrow' }), (e) => {
      assert.ok(invalid(e));
      const { issues } = e.details as { issues: { path: unknown[] }[] };
      assert.deepEqual(issues[0]!.path, [0, 'when']);
      return true;
    });
  });
});

describe('validation of local calls, and of the options', () => {
  it('checks calls through local refs the same way', async () => {
    const system = new ActorSystem();
    try {
      await system.register(ZodCalc);
      const calc = system.ref<ZodCalc>('zcalc');
      await assert.rejects(
        (calc.add as unknown as (a: unknown, b: unknown) => Promise<number>)('1', 2),
        invalid,
      );
      assert.equal(await calc.add(1, 1), 2);
    } finally {
      await system.close();
    }
  });

  it('refuses a schema that is not a Standard Schema', () => {
    assert.throws(() => method({ params: [{} as never] }), /params\[0\] must be a Standard Schema/);
    assert.throws(() => method({ result: 5 as never }), /result must be a Standard Schema/);
  });
});
