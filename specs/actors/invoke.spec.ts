import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { of } from 'rxjs';
import { CALL_CONTEXT, type CallContext, LOCAL_CALLER } from '../../src/actors/context.js';
import { callableMethods, callHandler, isStreamLike } from '../../src/actors/invoke.js';

const ctx: CallContext = {
  [CALL_CONTEXT]: true,
  caller: LOCAL_CALLER,
  actor: 'a',
  method: 'm',
  signal: new AbortController().signal,
  deadline: undefined,
};

class Base {
  inherited(): void {}
}

class Sample extends Base {
  visible(): void {}
  _hidden(): void {}
  onStart(): void {}
  onStop(): void {}
  withOptions(): void {}
  get value(): number {
    return 1;
  }
}

describe('callableMethods', () => {
  it('lists prototype methods, not hooks, getters, constructor, withOptions or _names', () => {
    assert.deepEqual([...callableMethods(Sample)].sort(), ['inherited', 'visible']);
  });
});

describe('callHandler', () => {
  it('passes the context last, padding missing optional arguments', () => {
    const seen: unknown[][] = [];
    const h = (_a?: number, _b?: number, _c?: CallContext) => {};
    const spy = function (this: unknown, ...args: unknown[]) {
      seen.push(args);
    };
    Object.defineProperty(spy, 'length', { value: h.length });
    callHandler(spy, undefined, [1], ctx);
    callHandler(spy, undefined, [1, 2], ctx);
    callHandler(spy, undefined, [1, 2, 3, 4], ctx);
    assert.deepEqual(seen, [
      [1, undefined, ctx],
      [1, 2, ctx],
      [1, 2, 3, 4, ctx],
    ]);
  });

  it('appends it after the arguments of a handler that declares none', () => {
    const add = (a: number, b: number, ...rest: unknown[]) => [a + b, rest];
    assert.deepEqual(callHandler(add, undefined, [1, 2], ctx), [3, [ctx]]);
  });
});

describe('isStreamLike', () => {
  it('is true for Observables and async iterables, false for byte streams and data', () => {
    async function* gen() {}
    assert.ok(isStreamLike(of(1)));
    assert.ok(isStreamLike(gen()));
    assert.ok(!isStreamLike(Readable.from(['x'])));
    assert.ok(!isStreamLike([1, 2]));
    assert.ok(!isStreamLike('text'));
    assert.ok(!isStreamLike(null));
  });
});
