/**
 * The counters an actor system keeps itself, for `ActorSystem.stats()` and for telemetry that reads
 * them: calls by how they ended, stream results in progress, connections and bytes. Plain integers,
 * incremented where the thing happens (one increment per call end, no allocation); totals only grow.
 */
import { type RpcError, RpcErrorCode } from './errors.js';

/** How a call ended: 'OK', or the code of its RpcError. */
export type EndCode = 'OK' | RpcErrorCode;

/** Calls counted by how they ended. */
export type CallCounts = Record<EndCode, number>;

/** Every end code, in a fixed order (OK first). */
export const END_CODES: readonly EndCode[] = ['OK', ...Object.values(RpcErrorCode)];

/** A zero for every end code. */
export function zeroCounts(): CallCounts {
  const counts = {} as CallCounts;
  for (const code of END_CODES) counts[code] = 0;
  return counts;
}

/** The sum of all codes. */
export function totalOf(counts: CallCounts): number {
  let n = 0;
  for (const code of END_CODES) n += counts[code];
  return n;
}

/** A system's counters (one object per system, shared with its connections). */
export class Counters {
  /** Calls this node made (local and remote refs, callbacks), by how they ended. */
  readonly made: CallCounts = zeroCounts();
  /** Calls this node served for peers (not local calls), by how they ended. */
  readonly served: CallCounts = zeroCounts();
  /** Stream results being read here (calls this node made) and not ended. */
  streamsIn = 0;
  /** Stream results being sent from here (calls this node serves) and not ended. */
  streamsOut = 0;
  /** Connections attached to the system (dialled or accepted), ever. */
  connectionsOpened = 0;
  /** Of those, connections that ended. */
  connectionsClosed = 0;
  /** Bytes read / written by connections that ended (live ones are read from their multiplexer). */
  closedBytesIn = 0;
  closedBytesOut = 0;

  /** A call this node made ended with `code` (once per call). */
  madeEnded(code: EndCode): void {
    this.made[code]++;
  }

  /** A call this node served ended with `code` (once per call). */
  servedEnded(code: EndCode): void {
    this.served[code]++;
  }

  /** A served call ended: with `failure` (undefined: OK; the code its caller got), its result a stream or not. */
  servedEnd(failure: RpcError | undefined, stream: boolean): void {
    this.served[failure === undefined ? 'OK' : failure.code]++;
    if (stream) this.streamsOut--;
  }

  /** A call made here ended: with `failure` (undefined: OK), its result a stream being read or not. */
  madeEnd(failure: RpcError | undefined, stream: boolean): void {
    this.made[failure === undefined ? 'OK' : failure.code]++;
    if (stream) this.streamsIn--;
  }
}
