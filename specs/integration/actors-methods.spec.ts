/**
 * Which names a peer can call, over TLS 1.3 and through a local ref: only the methods on the actor
 * class's prototype chain that are not lifecycle hooks, not `constructor`, not Object.prototype's members
 * (even when the class redefines them), not `then`, not `_`-named, not getters/setters, not symbols and
 * not `#private`. Everything else is UNIMPLEMENTED and never reaches the instance. TypeScript's
 * `private` is not enforced at run time (documented): such a method is callable by name.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { actor, isRpcError } from '../../src/actors/index.js';
import { type Pair, pair } from './actors-pair.js';

/** Every name a call reached on the instance. */
const reached: string[] = [];
const secret = Symbol('secret');

class Base {
  shadowed(): string {
    reached.push('Base.shadowed');
    return 'base';
  }
}

@actor('target')
class Target extends Base {
  started = false;
  visible(): string {
    return 'visible';
  }
  onStart(): void {
    if (this.started) reached.push('onStart');
    this.started = true;
  }
  onStop(): void {
    reached.push('onStop');
  }
  override toString(): string {
    reached.push('toString');
    return 'target';
  }
  override valueOf(): number {
    reached.push('valueOf');
    return 1;
  }
  get value(): () => string {
    reached.push('get value');
    return () => 'getter';
  }
  set writeOnly(_v: unknown) {
    reached.push('set writeOnly');
  }
  _internal(): string {
    reached.push('_internal');
    return 'internal';
  }
  [secret](): string {
    reached.push('symbol');
    return 'symbol';
  }
  #hidden(): string {
    reached.push('#hidden');
    return 'hidden';
  }
  /** Documented: TypeScript's `private` is a compile-time notion; a peer can call this by name. */
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: called by name over the wire
  private helper(): string {
    return this.#hidden();
  }
}

// A getter that hides the base class's method (TypeScript forbids writing it as an accessor override).
Object.defineProperty(Target.prototype, 'shadowed', {
  get() {
    reached.push('get shadowed');
    return () => 'getter';
  },
  configurable: true,
});

const HIDDEN_NAMES = [
  'constructor',
  'onStart',
  'onStop',
  'toString',
  'valueOf',
  'toLocaleString',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  '__proto__',
  '__defineGetter__',
  '__lookupGetter__',
  'value',
  'shadowed',
  'writeOnly',
  '_internal',
  'secret',
  'Symbol(secret)',
  '#hidden',
  'nothing-like-it',
];

type Loose = Record<string, (...args: unknown[]) => PromiseLike<unknown>>;

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
  reached.length = 0;
});

describe('actors: names a caller cannot reach', () => {
  it('over TLS, every hidden name is UNIMPLEMENTED and never reaches the instance', async () => {
    p = await pair();
    await p.server.register(Target);
    // Calls by raw name, as any peer may send them.
    const remote = p.client.ref<Loose>('target', p.peer) as unknown as Loose;
    assert.equal(await remote.visible!(), 'visible');
    for (const name of HIDDEN_NAMES) {
      await assert.rejects(
        Promise.resolve(remote[name]!()),
        (e) => isRpcError(e, 'UNIMPLEMENTED'),
        `remote ${name}`,
      );
    }
    assert.deepEqual(reached, []);
    // Documented: TypeScript's `private` is not a wire boundary.
    assert.equal(await remote.helper!(), 'hidden');
  });

  it('through a local ref, the same names are UNIMPLEMENTED', async () => {
    p = await pair();
    await p.client.register(Target);
    const local = p.client.ref<Loose>('target') as unknown as Loose;
    for (const name of HIDDEN_NAMES) {
      await assert.rejects(
        Promise.resolve(local[name]!()),
        (e) => isRpcError(e, 'UNIMPLEMENTED'),
        `local ${name}`,
      );
    }
    assert.deepEqual(reached, []);
  });
});
