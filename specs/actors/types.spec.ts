/**
 * Type tests of `Ref<T>`: this file compiles only if the mapped types are right (each
 * `@ts-expect-error` line must be an error, each `expectType` must match exactly). The runtime test
 * only checks that the file was built.
 */
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { it } from 'node:test';
import type { Observable } from 'rxjs';
import type { CallContext, Ref, RemoteStream, StripContext } from '../../src/actors/index.js';

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
  async slow(a: number, ctx: CallContext): Promise<string> {
    return `${a} ${ctx.method}`;
  }
  optional(name?: string, _ctx?: CallContext): Point {
    return { x: name?.length ?? 0, y: 0 };
  }
  ticks(_n: number, _ctx: CallContext): Observable<number> {
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

// Values become promises; the context parameter disappears.
expectType<Parameters<typeof ref.add>, [a: number, b: number]>(true);
expectType<ReturnType<typeof ref.add>, Promise<number>>(true);
expectType<Parameters<typeof ref.slow>, [a: number]>(true);
expectType<ReturnType<typeof ref.slow>, Promise<string>>(true);
expectType<Parameters<typeof ref.optional>, [name?: string]>(true);
expectType<ReturnType<typeof ref.nothing>, Promise<void>>(true);
expectType<ReturnType<typeof ref.never>, Promise<never>>(true);

// Streams (Observable, AsyncIterable, a promise of one) become remote streams; a Readable stays a value.
expectType<ReturnType<typeof ref.ticks>, RemoteStream<number>>(true);
expectType<Parameters<typeof ref.ticks>, [n: number]>(true);
expectType<ReturnType<typeof ref.pages>, RemoteStream<string>>(true);
expectType<ReturnType<typeof ref.later>, RemoteStream<boolean>>(true);
expectType<ReturnType<typeof ref.download>, Promise<Readable>>(true);

// withOptions keeps the type; a ref can be released (`using`).
expectType<typeof ref, ReturnType<typeof ref.withOptions>>(true);
expectType<ReturnType<(typeof ref)[typeof Symbol.dispose]>, void>(true);
// A class's own toString is not a remote method: the ref's toString is Object's.
expectType<ReturnType<typeof ref.toString>, string>(true);

// StripContext on its own: only a trailing CallContext goes, never an any or unknown parameter.
expectType<StripContext<[a: unknown]>, [a: unknown]>(true);
// biome-ignore lint/suspicious/noExplicitAny: the any case is the point
expectType<StripContext<[a: any]>, [a: any]>(true);
expectType<StripContext<[ctx: CallContext]>, []>(true);
expectType<StripContext<[]>, []>(true);

async function misuse(): Promise<void> {
  // @ts-expect-error the context is not the caller's to pass
  await ref.slow(1, {} as CallContext);
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
  // @ts-expect-error a value is not an Observable
  ref.add(1, 2).subscribe();
  void n;
}
void misuse;

it('the Ref type tests compiled', () => {
  assert.equal(typeof expectType, 'function');
});
