/**
 * Helpers for the channel scenarios: collecting a Receiver, raw streams and hand-made records for bad
 * input, bounded waits.
 */
import assert from 'node:assert/strict';
import { ExtData, encode } from '@msgpack/msgpack';
import { lastValueFrom, toArray } from 'rxjs';
import {
  type ChannelSession,
  encodeReferencePayload,
  frameRecord,
  Preface,
  type Receiver,
  RecordType,
} from '../../../src/transport/channel/index.js';
import {
  isTransportError,
  type TransportError,
  type TransportErrorCode,
} from '../../../src/transport/errors.js';
import type { Stream } from '../../../src/transport/mux/index.js';
import { type Pair, type PairOptions, within } from './pair.js';

export interface Scenario {
  readonly name: string;
  readonly options?: PairOptions;
  run(p: Pair): Promise<void>;
}

/** Bound of every wait in a scenario, ms. */
export const T = 15_000;

/** All values, then how it ended. */
export function collect<T>(r: Receiver<T>): Promise<{ values: T[]; error: unknown }> {
  const values: T[] = [];
  return within(
    new Promise((resolve) =>
      r.subscribe({
        next: (v) => values.push(v),
        error: (error) => resolve({ values, error }),
        complete: () => resolve({ values, error: undefined }),
      }),
    ),
    T,
    'a receiver to end',
  );
}

export function all<T>(r: Receiver<T>): Promise<T[]> {
  return within(lastValueFrom(r.pipe(toArray())), T, 'a receiver to complete');
}

export function isCode(code: TransportErrorCode) {
  return (e: unknown) => isTransportError(e, code);
}

/** A raw multiplexer stream of side `s` with a given first byte, and a promise of how it closed. */
export function rawStream(
  s: ChannelSession,
  preface: number,
): { stream: Stream; closed: Promise<TransportError | undefined> } {
  const stream = s.mux.open(Uint8Array.of(preface));
  const closed = new Promise<TransportError | undefined>((resolve) =>
    stream.listen({ onData() {}, onEnd() {}, onClose: resolve }),
  );
  return { stream, closed };
}

/** A MESSAGE record with hand-made reference ext values. */
export function rawMessage(value: unknown): Uint8Array {
  return frameRecord(RecordType.MESSAGE, encode(value));
}

export function ref(id: number, preface: Preface, ext = preface <= Preface.NESTED_RECV ? 1 : 2): ExtData {
  return new ExtData(ext, encodeReferencePayload(id, preface));
}

/** An id of `side`'s parity that it has not used. */
export function unusedId(side: ChannelSession): number {
  return side.mux.role === 'client' ? 100_001 : 100_000;
}

/** Open, send, accept, receive: the connection still works. */
export async function roundTrip(p: Pair): Promise<void> {
  const s = p.a.open<string>();
  const got = p.b.accept<string>().then(all);
  await s.send('still alive');
  s.close();
  assert.deepEqual(await got, ['still alive']);
}
