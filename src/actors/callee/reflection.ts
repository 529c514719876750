/**
 * The reflection actor: built into every actor system (unless `reflection: false`), under the name
 * {@link REFLECTION_ACTOR}, so that a caller can ask a node what it offers (`rxchan ping`, `rxchan list`).
 * Names starting with {@link RESERVED_PREFIX} belong to such built-ins: `register()` refuses them.
 *
 * A caller sees only what it may call: `list()` applies the same `allow` rules as a call does (the
 * actor's list and the method's), to the identity the connection proved. A local caller sees all.
 * Its replies are plain data (docs/PROTOCOL.md section 5.8), for clients in any language.
 */

import { type InjectionToken, inject, injectable } from 'tsyringe';
import { packageVersion } from '../../version.js';
import { type Caller, callContext } from '../context.js';
import { method } from '../decorators.js';
import { isAllowed } from './authorize.js';
import type { ActorClass } from './cell.js';
import type { HostedActor } from './hosted.js';
import { type MethodKind, methodKind } from './method-kind.js';

/** The name every actor system serves its reflection actor under. */
export const REFLECTION_ACTOR = 'rxchan.reflection';

/** Actor names starting with this are reserved for built-in actors. */
export const RESERVED_PREFIX = 'rxchan.';

/** What `ping()` answers. */
export interface PingReply {
  /** The server's clock, `Date.now()` ms. */
  time: number;
  /** The server's rxchan version ('unknown' if it cannot tell). */
  version: string;
}

/** One method in a `list()` reply. */
export interface ReflectedMethod {
  name: string;
  kind: MethodKind;
}

/** One actor in a `list()` reply. */
export interface ReflectedActor {
  actor: string;
  methods: ReflectedMethod[];
}

/** The calls reflection can be made with: a typed ref is `Ref<Reflection>`. */
export interface Reflection {
  ping(): PingReply;
  list(): ReflectedActor[];
}

/** Token under which an actor system gives its reflection actor the cells it hosts (read at each call). */
export const REFLECTION_CELLS: InjectionToken<() => Iterable<HostedActor>> = 'rxchan.reflectionCells';

/**
 * The reflection actor: one class for every system (a class per system stayed reachable after the
 * system closed, with the system behind it). Its system's cells come from its container
 * ({@link REFLECTION_CELLS}), so actors registered later are listed.
 */
class ReflectionActor implements Reflection {
  constructor(private readonly cells: () => Iterable<HostedActor>) {}

  ping(): PingReply {
    return { time: Date.now(), version: packageVersion() };
  }

  /**
   * The actors the caller may call, by name, each with the methods it may call (by name, with their
   * kind); an actor with no such method is left out. Private names never appear (only the methods a
   * ref can call do: see callableMethods).
   */
  list(): ReflectedActor[] {
    const { caller } = callContext();
    const out: ReflectedActor[] = [];
    for (const cell of this.cells()) {
      const methods = visibleMethods(cell, caller);
      if (methods.length > 0) out.push({ actor: cell.name, methods });
    }
    return out.sort((a, b) => compare(a.actor, b.actor));
  }
}
// As `@method({ kind: 'unary' })` on each, and `@injectable()` with `@inject(REFLECTION_CELLS)`.
for (const name of ['ping', 'list']) method({ kind: 'unary' })(ReflectionActor.prototype, name, {});
inject(REFLECTION_CELLS)(ReflectionActor, undefined, 0);
injectable()(ReflectionActor);

/** The reflection actor class; register {@link REFLECTION_CELLS} in the container it resolves from. */
export function reflectionActor(): ActorClass<Reflection> {
  return ReflectionActor;
}

function visibleMethods(cell: HostedActor, caller: Caller): ReflectedMethod[] {
  if (!isAllowed(cell.options.allow, caller)) return [];
  const out: ReflectedMethod[] = [];
  for (const name of cell.methods) {
    if (isAllowed(cell.methodOptions(name)?.allow, caller)) {
      out.push({ name, kind: methodKind(cell.cls, name) });
    }
  }
  return out.sort((a, b) => compare(a.name, b.name));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
