/**
 * Type tests of `Ref<T>`: this file compiles only if the mapped types are right (each
 * `@ts-expect-error` line must be an error, each `expectType` must match exactly). The runtime test
 * only checks that the file was built.
 */
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { it } from 'node:test';
import type { Observable } from 'rxjs';
import { callContext, type Ref, type RemoteCall, type RemoteStream } from '../../src/actors/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<A, B>(_proof: Equal<A, B>): void {}

interface Point {
  x: number;
  y: number;
}

class Sample {
  add(a: number, b: number): number {
    return a + b;
  }
  async slow(a: number): Promise<string> {
    const ctx = callContext();
    return `${a} ${ctx.method}`;
  }
  optional(name?: string): Point {
    return { x: name?.length ?? 0, y: 0 };
  }
  ticks(_n: number): Observable<number> {
    return null as unknown as Observable<number>;
  }
  async *pages(): AsyncGenerator<string> {}
  async later(): Promise<Observable<boolean>> {
    return null as unknown as Observable<boolean>;
  }
  download(): Readable {
    return null as unknown as Readable;
  }
  nothing(): void {}
  never(): never {
    throw new Error('always');
  }
  onStart(): void {}
  _internal(): void {}
  toString(): string {
    return 'sample';
  }
  readonly label = 'not a method';
}

declare const ref: Ref<Sample>;

// Values become promises; the parameters are the method's own.
expectType<Parameters<typeof ref.add>, [a: number, b: number]>(true);
expectType<ReturnType<typeof ref.add>, Promise<number>>(true);
expectType<Parameters<typeof ref.slow>, [a: number]>(true);
expectType<ReturnType<typeof ref.slow>, Promise<string>>(true);
expectType<Parameters<typeof ref.optional>, [name?: string]>(true);
expectType<ReturnType<typeof ref.nothing>, Promise<void>>(true);
expectType<ReturnType<typeof ref.never>, Promise<never>>(true);

// Streams (Observable, AsyncIterable, a promise of one) become remote calls (subscribe, iterate, or await
// for the stream); a Readable stays a value.
expectType<ReturnType<typeof ref.ticks>, RemoteCall<number>>(true);
expectType<Parameters<typeof ref.ticks>, [n: number]>(true);
expectType<ReturnType<typeof ref.pages>, RemoteCall<string>>(true);
expectType<ReturnType<typeof ref.later>, RemoteCall<boolean>>(true);
expectType<ReturnType<typeof ref.download>, Promise<Readable>>(true);

// withOptions keeps the type; a ref can be released (`using`).
expectType<typeof ref, ReturnType<typeof ref.withOptions>>(true);
expectType<ReturnType<(typeof ref)[typeof Symbol.dispose]>, void>(true);
// A class's own toString is not a remote method: the ref's toString is Object's.
expectType<ReturnType<typeof ref.toString>, string>(true);

async function misuse(): Promise<void> {
  // @ts-expect-error no argument beyond the method's own
  await ref.slow(1, {});
  // @ts-expect-error wrong argument type
  await ref.add('1', 2);
  // @ts-expect-error missing argument
  await ref.add(1);
  // @ts-expect-error lifecycle hooks are not callable through a ref
  ref.onStart();
  // @ts-expect-error nor are _names
  ref._internal();
  // @ts-expect-error nor fields
  ref.label;
  // @ts-expect-error a stream is not a promise of numbers
  const n: number = await ref.ticks(1);
  // a stream call is subscribed directly, or awaited for its stream
  ref.ticks(1).subscribe();
  const stream: RemoteStream<number> = await ref.ticks(1);
  void stream;
  // @ts-expect-error a value is not an Observable
  ref.add(1, 2).subscribe();
  void n;
}
void misuse;

it('the Ref type tests compiled', () => {
  assert.equal(typeof expectType, 'function');
});
