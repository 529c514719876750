/**
 * methodKind: what reflection says a method returns, from `@method({ kind })`, an async generator,
 * or the decorated method's `design:returntype`.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { Observable as TypeOnlyObservable } from 'rxjs';
// biome-ignore lint/style/useImportType: decorator metadata (design:returntype) needs Observable as a value
import { Observable, of, Subject } from 'rxjs';
import { methodKind } from '../../../src/actors/callee/method-kind.js';
import { method } from '../../../src/actors/decorators.js';
import { isTransportError } from '../../../src/transport/errors.js';

class Items<T> implements AsyncIterable<T> {
  async *[Symbol.asyncIterator](): AsyncIterator<T> {}
}

class Base {
  @method({})
  inherited(): Observable<number> {
    return of(1);
  }
  @method({})
  overridden(): Observable<number> {
    return of(1);
  }
}

class Kinds extends Base {
  @method({})
  observable(): Observable<number> {
    return of(1);
  }
  @method({})
  subject(): Subject<number> {
    return new Subject();
  }
  @method({})
  iterable(): Items<number> {
    return new Items();
  }
  async *generator(): AsyncGenerator<number> {
    yield 1;
  }
  @method({})
  number(): number {
    return 1;
  }
  @method({})
  async promise(): Promise<number> {
    return 1;
  }
  @method({})
  bytes(): Readable {
    return Readable.from([]);
  }
  @method({})
  bare() {
    return 1;
  }
  @method({})
  interfaceType(): AsyncIterable<number> {
    return new Items();
  }
  plain(): Observable<number> {
    return of(1);
  }
  @method({})
  typeOnly(): TypeOnlyObservable<number> {
    return of(1);
  }
  @method({ kind: 'stream' })
  async declared(): Promise<Observable<number>> {
    return of(1);
  }
  // Redefined without a decorator: the base's return type no longer describes it.
  override overridden(): Observable<number> {
    return of(2);
  }
}

describe('methodKind', () => {
  it('reads the declared kind, async generators and decorated return types', () => {
    const expected: Record<string, string> = {
      observable: 'stream',
      subject: 'stream',
      iterable: 'stream',
      generator: 'stream',
      inherited: 'stream',
      number: 'unary',
      promise: 'unary',
      bytes: 'unary',
      bare: 'unknown',
      interfaceType: 'unknown',
      plain: 'unknown',
      typeOnly: 'unknown',
      declared: 'stream',
      overridden: 'unknown',
      missing: 'unknown',
    };
    for (const [name, kind] of Object.entries(expected)) assert.equal(methodKind(Kinds, name), kind, name);
  });

  it('@method refuses a kind that is not unary or stream (INVALID_CONFIG)', () => {
    assert.throws(
      () => method({ kind: 'bidi' as 'unary' }),
      (e) => isTransportError(e, 'INVALID_CONFIG'),
    );
  });
});
