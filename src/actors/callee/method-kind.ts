/**
 * What kind of result a method gives, as reflection reports it: known from the class alone, before
 * any call (the real shape of a result is only known when the handler returns, see invoke.ts).
 */
import 'reflect-metadata';
import { Observable } from 'rxjs';
import { isByteStreamClass } from '#platform/byte-streams.js';
import { methodOptions } from '../decorators.js';

/** 'unary': one value; 'stream': items (an Observable or async iterable); 'unknown': not declared. */
export type MethodKind = 'unary' | 'stream' | 'unknown';

const kinds = new WeakMap<Function, Map<string, MethodKind>>();

/**
 * The kind of `method` of `cls`, first found of:
 * 1. `@method({ kind })`;
 * 2. an `async function*` method: 'stream';
 * 3. the declared return type, which TypeScript records (`design:returntype`, with
 *    `emitDecoratorMetadata`) only on methods that have a decorator, such as `@method({})`:
 *    Observable or a subclass, or a class with `Symbol.asyncIterator` that is not a Node byte stream:
 *    'stream'; no annotation, `void`, a type that has no class at run time (an interface such as
 *    `AsyncIterable<T>`, a union, `any`), or a class imported as a type only (`import type`, which
 *    linters often ask for): 'unknown'; any other class (`number`, `Promise<T>`, `Uint8Array`, ...):
 *    'unary'. So an `async` method that resolves to a stream reports 'unary': declare its kind.
 * 4. otherwise 'unknown'.
 * Cached per class; never throws.
 */
export function methodKind(cls: Function, method: string): MethodKind {
  let table = kinds.get(cls);
  if (!table) {
    table = new Map();
    kinds.set(cls, table);
  }
  let kind = table.get(method);
  if (kind === undefined) {
    kind = derive(cls, method);
    table.set(method, kind);
  }
  return kind;
}

function derive(cls: Function, method: string): MethodKind {
  const declared = methodOptions(cls, method)?.kind;
  if (declared !== undefined) return declared;
  const home = definer(cls, method);
  if (home === undefined) return 'unknown';
  const fn = Object.getOwnPropertyDescriptor(home, method)?.value;
  if (Object.prototype.toString.call(fn) === '[object AsyncGeneratorFunction]') return 'stream';
  const type: unknown = Reflect.getOwnMetadata('design:returntype', home, method);
  // Object: a type with no class at run time; Function: what a type-only import (`import type`,
  // `import { type Observable }`) of a class becomes.
  if (typeof type !== 'function' || type === Object || type === Function) return 'unknown';
  if (type === Observable || type.prototype instanceof Observable) return 'stream';
  const proto = type.prototype as Record<symbol, unknown> | undefined;
  if (isByteStreamClass(type)) return 'unary'; // a byte stream is carried as one value (5.4)
  return typeof proto?.[Symbol.asyncIterator] === 'function' ? 'stream' : 'unary';
}

/** The prototype on `cls`'s chain that defines `method` (the nearest one: the one called). */
function definer(cls: Function, method: string): object | undefined {
  for (let p: unknown = cls.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p as object, method)) return p as object;
  }
  return undefined;
}
