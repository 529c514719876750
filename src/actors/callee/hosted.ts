/**
 * What the system hosts under an actor's name: an {@link ActorCell} (one instance), or a keyed host
 * (keyed.ts: one activation, itself an ActorCell, per key). Servers, local refs, reflection and close()
 * see only this.
 */
import type { Caller, CallScope } from '../context.js';
import type { ActorOptions, MethodOptions } from '../decorators.js';
import type { RpcError } from '../errors.js';
import type { ActorClass, CellState } from './cell.js';
import type { Outcome } from './target.js';

export interface HostedActor {
  readonly name: string;
  readonly cls: ActorClass;
  readonly options: ActorOptions;
  /** The callable methods. */
  readonly methods: Set<string>;
  readonly state: CellState;
  /** Settles when the actor first runs (see ActorCell.ready; a keyed host runs at once). */
  readonly ready: Promise<void>;
  methodOptions(method: string): MethodOptions | undefined;
  /** Throws why `caller` may not call `method` without a key (INVALID_ARGUMENT for a keyed actor). */
  admit(method: string, caller: Caller): void;
  /** Throws why `caller` may not call `method` with a key (INVALID_ARGUMENT for an unkeyed actor). */
  admitKeyed(method: string, caller: Caller): void;
  /** The deadline of a call that sets none (see ActorCell.defaultTimeout). */
  defaultTimeout(method: string): { ms: number | undefined; unaryOnly: boolean };
  /** Run the call (a keyed one on the activation of `scope.key`); `outcome` gets its end. */
  enqueue(method: string, args: readonly unknown[], scope: CallScope, outcome: Outcome): void;
  /** The steps of a stop (see ActorCell): refuse and answer the queued calls, wait for the running ones. */
  drain(): Promise<void>;
  abortRunning(reason: RpcError): void;
  stop(): Promise<void>;
}
