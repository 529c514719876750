import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { of } from 'rxjs';
import { callableMethods, isStreamLike } from '../../src/actors/invoke.js';

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

class BaseWithMethod {
  shadowed(): string {
    return 'base';
  }
  kept(): string {
    return 'base';
  }
}

const secret = Symbol('secret');

class Tricky extends BaseWithMethod {
  set writeOnly(_v: number) {}
  override toString(): string {
    return 'tricky';
  }
  override valueOf(): number {
    return 1;
  }
  override hasOwnProperty(): boolean {
    return true;
  }
  // biome-ignore lint/suspicious/noThenProperty: a thenable actor is what the spec is about
  then(): void {}
  [secret](): string {
    return 'symbol';
  }
  #hidden(): string {
    return 'hidden';
  }
  usesHidden(): string {
    return this.#hidden();
  }
  static create(): Tricky {
    return new Tricky();
  }
}

// A getter hides the base class's method of the same name: neither is callable. (Defined by hand:
// TypeScript forbids an accessor that overrides a method.)
Object.defineProperty(Tricky.prototype, 'shadowed', { get: () => () => 'getter', configurable: true });

describe('callableMethods', () => {
  it('lists prototype methods, not hooks, getters, constructor, withOptions or _names', () => {
    assert.deepEqual([...callableMethods(Sample)].sort(), ['inherited', 'visible']);
  });

  it('never lists Object.prototype names, then, symbols, accessors, #private or static members', () => {
    assert.deepEqual([...callableMethods(Tricky)].sort(), ['kept', 'usesHidden']);
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
