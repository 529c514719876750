/**
 * Fuzzing the actor layer: a real ActorSystem serves an in-memory connection whose peer speaks correct
 * yamux and correct channels (a raw mux Session writing records by hand), but sends damaged calls on a
 * call stream (DUPLEX): CALL maps with random actors, methods (real ones, unknown ones, lifecycle hooks,
 * private names), arguments (values, and references of every kind, tagged or not, to the peer's nested
 * streams, or to streams that do not exist), deadlines, metadata and stray keys, sometimes two records
 * — as built, or with bytes damaged on top; the caller's half ends with FIN or RST.
 *
 * Properties: nothing escapes to the process and nothing is reported to the system's onError; the
 * return half starts with a shape (`{ v }`, `{}`, `{ s }`) or an ERROR with a call error code, and a
 * value reply is that one record; a good `echo` of plain data answers exactly what was sent (the value
 * oracle); every call the server took ends (servedCalls and buffered items back to 0); the connection
 * survives (a fresh call on it is answered); and after each batch the process still serves a fresh
 * connection.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decode, Encoder, ExtData } from '@msgpack/msgpack';
import fc from 'fast-check';
import { interval, isObservable, lastValueFrom, type Observable, take, toArray } from 'rxjs';
import { ActorSystem, actor, callContext, RpcErrorCode } from '../../src/actors/index.js';
import {
  encodeReferencePayload,
  frameRecord,
  Preface,
  RecordParser,
  RecordType,
} from '../../src/transport/channel/index.js';
import { memoryConnectionPair } from '../../src/transport/connection/index.js';
import { Session, type Stream } from '../../src/transport/mux/index.js';
import { healthyEcho } from './healthy.js';
import { applyMutations, concat, mutation } from './mutate.js';
import { messageValue, type NestedStream } from './records.js';
import { runFuzz } from './runs.js';
import { describe as describeError, ProcessTrap } from './trap.js';
import { until } from './wait.js';

@actor('fuzz', { concurrency: 4 })
class FuzzTarget {
  echo(x: unknown): unknown {
    return x;
  }
  ticks(n: unknown): Observable<number> {
    return interval(1).pipe(take(Math.min(Math.max(Number(n) || 0, 0), 5)));
  }
  async sum(xs: unknown): Promise<number> {
    if (!isObservable(xs)) return -1;
    const all = await lastValueFrom((xs as Observable<unknown>).pipe(toArray()));
    return all.length;
  }
  async call(f: unknown): Promise<unknown> {
    return typeof f === 'function' ? await f(1) : 'not a function';
  }
  async hold(ms: unknown): Promise<string> {
    const ctx = callContext();
    await sleep(Math.min(Math.max(Number(ms) || 0, 0), 20), undefined, { signal: ctx.signal });
    return 'held';
  }
  async *pages(): AsyncGenerator<string> {
    for (let i = 0; i < 3; i++) yield `page ${i}`;
  }
}

/** The peer's nested streams (client role: odd ids): 3 and 9 are channels for refs and callbacks. */
const NESTED: NestedStream[] = [
  { id: 1, preface: Preface.NESTED_SEND },
  { id: 3, preface: Preface.NESTED_RECV },
  { id: 5, preface: Preface.BYTES_SEND },
  { id: 7, preface: Preface.BYTES_RECV },
  { id: 9, preface: Preface.NESTED_RECV },
];
/** A reference to the peer's nested stream `id`; `tag` (3 REF, 4 CALLBACK) for a tagged channel. */
const ref = (id: number, tag?: number) => {
  const n = NESTED.find((x) => x.id === id)!;
  return new ExtData(
    tag ?? (n.preface <= Preface.NESTED_RECV ? 1 : 2),
    encodeReferencePayload(id, n.preface as Preface),
  );
};
const CALL_ID = 11;

const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: true });
const message = (v: unknown) => frameRecord(RecordType.MESSAGE, encoder.encode(v));
const METHODS = ['echo', 'ticks', 'sum', 'call', 'hold', 'pages'];

/** A call as a client would write it: a real method, arguments of every kind. */
function goodCall(): fc.Arbitrary<Record<string, unknown>> {
  const arg = fc.oneof(
    { weight: 4, arbitrary: messageValue([], 2) },
    { weight: 1, arbitrary: fc.constant(ref(1)) },
    { weight: 1, arbitrary: fc.constantFrom(ref(9, 4), ref(3, 3)) },
    { weight: 1, arbitrary: fc.constantFrom(ref(5), ref(7)) },
  );
  return fc
    .record({
      m: fc.constantFrom(...METHODS),
      args: fc.array(arg, { maxLength: 2 }),
      t: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
      h: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }), {
        nil: undefined,
      }),
    })
    .map(({ m, args, t, h }) => {
      // A stream may be named once per message: keep the first use of each.
      const used = new Set<unknown>();
      const a = args.filter((v) => !(v instanceof ExtData) || (!used.has(v) && used.add(v)));
      return { n: 'fuzz', m, a, t, h };
    });
}

/** A CALL as a broken or hostile peer might write it: every key sometimes wrong. */
function chaosCall(): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      n: fc.oneof(
        { weight: 8, arbitrary: fc.constant('fuzz') },
        { weight: 1, arbitrary: fc.constantFrom('', 'nobody', 'x'.repeat(300)) },
        { weight: 1, arbitrary: messageValue([], 1) },
      ),
      m: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...METHODS) },
        {
          weight: 2,
          arbitrary: fc.constantFrom('nope', '', 'constructor', '_private', 'onStart', 'toString'),
        },
        { weight: 1, arbitrary: messageValue([], 1) },
      ),
      a: fc.oneof(
        { weight: 8, arbitrary: fc.array(messageValue(NESTED, 3), { maxLength: 3 }) },
        { weight: 1, arbitrary: messageValue(NESTED, 2) },
      ),
      r: messageValue(NESTED, 1),
      t: fc.oneof(fc.constantFrom(1, 5, 50, 0, -1, 2 ** 31, 1.5), fc.integer()),
      h: messageValue([], 2),
    },
    { requiredKeys: ['m', 'a'] },
  );
}

function call(): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(goodCall(), chaosCall());
}

interface ActorCase {
  records: Uint8Array;
  /** The calls as built, when the bytes were not damaged afterwards. */
  calls: Record<string, unknown>[] | undefined;
  finish: 'fin' | 'rst';
}

function actorCase(): fc.Arbitrary<ActorCase> {
  // One record per call; sometimes a second one, which breaks the protocol.
  const built = fc.array(call(), { minLength: 1, maxLength: 2 }).map((calls) => ({
    records: concat(calls.map(message)),
    calls,
  }));
  return fc
    .record({
      finish: fc.constantFrom<'fin' | 'rst'>('fin', 'fin', 'fin', 'rst'),
      built: fc.oneof(
        { weight: 3, arbitrary: built },
        {
          weight: 2,
          arbitrary: fc
            .tuple(built, fc.array(mutation(), { minLength: 1, maxLength: 3 }))
            .map(([b, ops]) => ({ records: applyMutations(b.records, ops), calls: undefined })),
        },
      ),
    })
    .map(({ finish, built: b }) => ({ records: b.records, calls: b.calls, finish }));
}

/** Collects every byte a peer stream receives, and how it closed. */
function collect(stream: Stream): { data: Uint8Array[]; closed: boolean } {
  const state = { data: [] as Uint8Array[], closed: false };
  stream.listen({
    onData: (c) => void state.data.push(Uint8Array.from(c)),
    onEnd: () => {},
    onClose: () => {
      state.closed = true;
    },
  });
  return state;
}

describe('fuzz: actor calls', () => {
  let trap: ProcessTrap;
  let server: ActorSystem;
  const reports: unknown[] = [];
  before(async () => {
    trap = new ProcessTrap();
    // A handler that the peer's arguments make throw (Number(aRef) in `ticks`) is the actor's own error,
    // reported masked with an id (`info`) by design; anything else reaching onError is a finding.
    server = new ActorSystem({
      onError: (e, info) => info === undefined && reports.push(e),
      config: { closeTimeoutMs: 200 },
    });
    await server.register(FuzzTarget);
  });
  after(async () => {
    await server.close();
    trap.assertEmpty();
    trap.dispose();
  });

  async function runCase(c: ActorCase): Promise<void> {
    const [clientConn, serverConn] = memoryConnectionPair();
    server.serve(serverConn);
    const peer = new Session(clientConn.socket, 'client', { keepAliveIntervalMs: 0, closeTimeoutMs: 50 });
    // Streams the server opens to us (a callback's call, a result's byte stream): kept until we let go.
    const inbound: Stream[] = [];
    peer.onStream = (s) => {
      inbound.push(s);
      collect(s);
    };
    try {
      const streams = NESTED.map((n) => peer.open(Uint8Array.of(n.preface)));
      const seen = streams.map(collect);
      streams[0]!.write(concat([message(42), message(43)]));
      streams[2]!.write(Uint8Array.from(Buffer.from('some bytes')));
      // The peer writes nothing more on any of them (on NESTED_RECV and BYTES_RECV it only reads).
      for (const s of streams) s.end();
      const callStream = peer.open(Uint8Array.of(Preface.DUPLEX));
      assert.equal(callStream.id, CALL_ID);
      const answered = collect(callStream);
      callStream.write(c.records);
      if (c.finish === 'fin') callStream.end();
      else callStream.reset();

      // Let the call run a little: most end by themselves (a handler waits 20 ms at most). Settled: the
      // call stream closed, or no call in progress for a few turns (their frames flushed).
      let quiet = 0;
      const settled = () => {
        quiet = server.stats().servedCalls === 0 ? quiet + 1 : 0;
        return answered.closed || quiet >= 3;
      };
      await until(settled, 50, 'calls to settle').catch(() => {});
      // Then the peer lets go of everything: its streams and the ones the server opened to it (a
      // callback's call nobody answers, a stream nobody reads). Every call the server took must end.
      for (const s of [...streams, ...inbound, callStream]) s.reset();
      await until(
        () => server.stats().servedCalls === 0 && server.stats().bufferedItems === 0,
        5_000,
        `served calls to end once the caller let go (${server.stats().servedCalls} left)`,
      );
      if (c.finish === 'fin') checkReply(c, answered.data);
      void seen;

      // The connection lives on: a fresh call is answered.
      const fresh = peer.open(Uint8Array.of(Preface.DUPLEX));
      const answer = collect(fresh);
      fresh.write(message({ n: 'fuzz', m: 'echo', a: ['alive'] }));
      fresh.end();
      await until(() => answer.closed, 5_000, 'the fresh call to be answered');
      assert.deepEqual(records(answer.data), [{ type: RecordType.MESSAGE, value: { v: 'alive' } }]);
      if (trap.caught.length > 0) assert.fail(`escaped: ${describeError(trap.caught[0]!.error)}`);
      assert.deepEqual(reports.map(describeError), [], 'nothing reported to onError');
    } finally {
      peer.destroy();
      await until(() => server.stats().connections === 0, 5_000, 'the server to drop the connection');
    }
  }

  it('damaged calls end in one typed answer at most, every call ends, the connection lives on', async (t) => {
    await runFuzz(t, 'actor calls', fc.asyncProperty(actorCase(), runCase), 150, 0.5);
    assert.equal(server.stats().servedCalls, 0);
    await healthyEcho();
    trap.assertEmpty();
  });
});

const CODES = new Set<string>(Object.values(RpcErrorCode));

/** The records a reply channel carried, decoded. */
function records(data: Uint8Array[]): { type: number; value: unknown }[] {
  const { records: rs, error } = new RecordParser(1 << 20).push(concat(data));
  assert.equal(error, undefined, 'the server writes well-formed records');
  return rs.map((r) => ({ type: r.type, value: decode(r.body, { useBigInt64: true }) }));
}

/** Plain data only: no extension value (no reference, no other ext) anywhere in it. */
function plain(v: unknown): boolean {
  if (v instanceof ExtData) return false;
  if (Array.isArray(v)) return v.every(plain);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date)) {
    return Object.values(v).every(plain);
  }
  return true;
}

/**
 * The return half of the call stream: a shape or a typed ERROR first; a value reply is one record; a
 * good echo of plain data answers exactly what was sent.
 */
function checkReply(c: ActorCase, data: Uint8Array[]): void {
  const got = records(data);
  for (const r of got) {
    if (r.type === RecordType.ERROR) {
      const code = (r.value as { code?: unknown }).code;
      assert.ok(
        typeof code === 'string' && CODES.has(code),
        `an ERROR with a call error code, got ${String(code)}`,
      );
    }
  }
  const first = got[0];
  if (first?.type === RecordType.MESSAGE) {
    const v = first.value as Record<string, unknown>;
    assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), 'a shape is a map');
    const keys = Object.keys(v);
    assert.ok(keys.length <= 1 && keys.every((k) => k === 'v' || k === 's'), `shape keys ${keys.join(',')}`);
    if (!('s' in v)) assert.equal(got.length, 1, 'a value reply is one record');
  }
  const calls = c.calls;
  if (calls === undefined || calls.length !== 1) return; // damaged bytes, or a second record
  const call = calls[0]!;
  const args = call.a as unknown[];
  if (call.n === 'fuzz' && call.m === 'echo' && Object.keys(call).every((k) => 'nmath'.includes(k))) {
    const t = call.t;
    const good =
      Array.isArray(args) &&
      (t === undefined || (Number.isSafeInteger(t) && (t as number) > 0 && (t as number) < 2 ** 31));
    const h = call.h;
    const goodH =
      h === undefined ||
      (typeof h === 'object' &&
        h !== null &&
        !Array.isArray(h) &&
        Object.values(h).every((x) => typeof x === 'string'));
    if (good && goodH && args.every(plain) && first !== undefined) {
      // The value oracle: the echo's answer is what was sent (both decoded by the same reference decoder).
      const sent = args.length === 0 ? undefined : decode(encoder.encode(args[0]), { useBigInt64: true });
      if (first.type === RecordType.MESSAGE) assert.deepEqual((first.value as { v?: unknown }).v, sent);
      else assert.equal((first.value as { code?: string }).code, 'DEADLINE_EXCEEDED', 'only a deadline');
    }
  }
}
