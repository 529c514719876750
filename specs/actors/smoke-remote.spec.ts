import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interval, lastValueFrom, map, of, take, toArray } from 'rxjs';
import { ActorSystem, actor, type CallContext } from '../../src/actors/index.js';
import { memoryConnectionPair } from '../../src/transport/connection/index.js';

@actor('calculator')
class Calculator {
  add(a: number, b: number, ctx?: CallContext): number {
    return a + b + (ctx ? 0 : 1000);
  }
  ticks(n: number) {
    return interval(1).pipe(
      take(n),
      map((i) => i * 10),
    );
  }
  async sum(xs: AsyncIterable<number>) {
    let s = 0;
    for await (const x of xs) s += x;
    return s;
  }
  async each(n: number, cb: (i: number) => Promise<number>) {
    let s = 0;
    for (let i = 0; i < n; i++) s += await cb(i);
    return s;
  }
}

test('smoke remote', async () => {
  const server = new ActorSystem();
  await server.register(Calculator);
  const client = new ActorSystem({
    dial: async () => {
      const [c, s] = memoryConnectionPair();
      server.serve(s);
      return c;
    },
  });
  const calc = client.ref<Calculator>('calculator', { host: 'mem', port: 1 });
  assert.equal(await calc.add(1, 2), 3);
  assert.deepEqual(await lastValueFrom(calc.ticks(3).pipe(toArray())), [0, 10, 20]);
  const s = await calc.ticks(2);
  assert.deepEqual(await lastValueFrom(s.pipe(toArray())), [0, 10]);
  const got: number[] = [];
  for await (const x of calc.ticks(2)) got.push(x as number);
  assert.deepEqual(got, [0, 10]);
  assert.equal(await calc.sum(of(1, 2, 3) as never), 6);
  assert.equal(await calc.each(3, async (i) => i * 2), 6);
  console.log(client.stats(), server.stats());
  await client.close();
  await server.close();
});
