/**
 * Fuzzing the actor layer: a real ActorSystem serves an in-memory connection whose peer speaks correct
 * yamux and correct channels (a raw mux Session writing records by hand), but sends damaged calls on a
 * mailbox channel: OPEN then CALL maps with random methods (real ones, unknown ones, lifecycle hooks,
 * private names), arguments (values, and references to the peer's nested streams of every kind, or to
 * streams that do not exist), reply channels, stream flags, deadlines and argument kinds — as built,
 * or with bytes damaged on top.
 *
 * Properties: nothing escapes to the process and nothing is reported to the system's onError; a unary
 * call's reply channel carries at most one record, a well-formed reply or an ERROR with a call error
 * code; every call the server took ends (servedCalls and buffered items back to 0); the connection
 * survives (a fresh mailbox on it is still answered); and after each batch the process still serves a
 * fresh connection.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decode, Encoder, ExtData } from '@msgpack/msgpack';
import fc from 'fast-check';
import { interval, isObservable, lastValueFrom, type Observable, take, toArray } from 'rxjs';
import { ActorSystem, actor, type CallContext, RpcErrorCode } from '../../src/actors/index.js';
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
  async hold(ms: unknown, ctx: CallContext): Promise<string> {
    await sleep(Math.min(Math.max(Number(ms) || 0, 0), 20), undefined, { signal: ctx.signal });
    return 'held';
  }
  async *pages(): AsyncGenerator<string> {
    for (let i = 0; i < 3; i++) yield `page ${i}`;
  }
}

/** The peer's nested streams (client role: odd ids): 3 is the reply channel a call names, 9 a callback. */
const NESTED: NestedStream[] = [
  { id: 1, preface: Preface.NESTED_SEND },
  { id: 3, preface: Preface.NESTED_RECV },
  { id: 5, preface: Preface.BYTES_SEND },
  { id: 7, preface: Preface.BYTES_RECV },
  { id: 9, preface: Preface.NESTED_RECV },
];
const ref = (id: number) => {
  const n = NESTED.find((x) => x.id === id)!;
  return new ExtData(
    n.preface <= Preface.NESTED_RECV ? 1 : 2,
    encodeReferencePayload(id, n.preface as Preface),
  );
};
const REPLY = ref(3);
const MAILBOX_ID = 11;

const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: true });
const message = (v: unknown) => frameRecord(RecordType.MESSAGE, encoder.encode(v));
const METHODS = ['echo', 'ticks', 'sum', 'call', 'hold', 'pages'];

/** A call as a client would write it: a real method, arguments of every kind with matching `x`. */
function goodCall(): fc.Arbitrary<Record<string, unknown>> {
  const arg = fc.oneof(
    { weight: 4, arbitrary: messageValue([], 2).map((v) => [v, 0] as const) },
    { weight: 1, arbitrary: fc.constant([ref(1), 1] as const) },
    { weight: 1, arbitrary: fc.constantFrom([ref(9), 2] as const, [ref(9), 3] as const) },
    { weight: 1, arbitrary: fc.constantFrom([ref(5), 0] as const, [ref(7), 0] as const) },
  );
  return fc
    .record({
      m: fc.constantFrom(...METHODS),
      args: fc.array(arg, { maxLength: 2 }),
      s: fc.option(fc.constant(1), { nil: undefined }),
      t: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
    })
    .map(({ m, args, s, t }) => {
      // A stream or callback channel may be named once per message: keep the first use of each.
      const used = new Set<unknown>();
      const kept = args.filter(([v]) => !(v instanceof ExtData) || (!used.has(v) && used.add(v)));
      const x = kept.map(([, k]) => k);
      return { m, a: kept.map(([v]) => v), r: REPLY, s, t, x: x.some((k) => k !== 0) ? x : undefined };
    });
}

/** A CALL as a broken or hostile peer might write it: every key sometimes wrong. */
function chaosCall(): fc.Arbitrary<Record<string, unknown>> {
  const argRefs = NESTED.filter((n) => n.id !== 3);
  return fc.record(
    {
      m: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...METHODS) },
        {
          weight: 2,
          arbitrary: fc.constantFrom('nope', '', 'constructor', '_private', 'onStart', 'toString'),
        },
        { weight: 1, arbitrary: messageValue([], 1) },
      ),
      a: fc.oneof(
        { weight: 8, arbitrary: fc.array(messageValue(argRefs, 3), { maxLength: 3 }) },
        { weight: 1, arbitrary: messageValue(argRefs, 2) },
      ),
      r: fc.oneof(
        { weight: 8, arbitrary: fc.constant(REPLY) },
        { weight: 1, arbitrary: messageValue(NESTED, 1) },
      ),
      s: fc.constantFrom(1, 1, 0, 2, 'yes'),
      t: fc.oneof(fc.constantFrom(1, 5, 50, 0, -1, 2 ** 31, 1.5), fc.integer()),
      x: fc.oneof(
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
        fc.array(fc.integer({ min: -1, max: 9 }), { maxLength: 3 }),
      ),
    },
    { requiredKeys: ['m', 'a', 'r'] },
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
  const open = fc.oneof(
    { weight: 9, arbitrary: fc.constant({ n: 'fuzz' }) },
    { weight: 1, arbitrary: messageValue([], 2) },
  );
  const built = fc.tuple(open, fc.array(call(), { minLength: 1, maxLength: 2 })).map(([o, calls]) => ({
    records: concat([message(o), ...calls.map(message)]),
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
    server = new ActorSystem({ onError: (e) => reports.push(e), config: { closeTimeoutMs: 200 } });
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
      const mailbox = peer.open(Uint8Array.of(Preface.CHANNEL));
      assert.equal(mailbox.id, MAILBOX_ID);
      const mailboxState = collect(mailbox);
      mailbox.write(c.records);
      if (c.finish === 'fin') mailbox.end();
      else mailbox.reset();

      // The mailbox closes once the server has read every record (or refused one); then let the calls
      // run a little: most end by themselves (a handler waits 20 ms at most).
      await until(() => mailboxState.closed, 5_000, 'the server to read the mailbox');
      // Settled: the reply channel closed, or no call in progress for a few turns (their frames flushed).
      let quiet = 0;
      const settled = () => {
        quiet = server.stats().servedCalls === 0 ? quiet + 1 : 0;
        return seen[1]!.closed || quiet >= 3;
      };
      await until(settled, 50, 'calls to settle').catch(() => {});
      // Then the peer lets go of everything: its streams and the ones the server opened to it (a
      // callback's call nobody answers, a stream nobody reads). Every call the server took must end.
      for (const s of [...streams, ...inbound]) s.reset();
      await until(
        () => server.stats().servedCalls === 0 && server.stats().bufferedItems === 0,
        5_000,
        `served calls to end once the caller let go (${server.stats().servedCalls} left)`,
      );
      checkReply(c, seen[1]!.data);

      // The connection lives on: a fresh mailbox is answered.
      const reply = peer.open(Uint8Array.of(Preface.NESTED_RECV));
      const answer = collect(reply);
      reply.end();
      const fresh = peer.open(Uint8Array.of(Preface.CHANNEL));
      collect(fresh);
      fresh.write(
        concat([
          message({ n: 'fuzz' }),
          message({
            m: 'echo',
            a: ['alive'],
            r: new ExtData(1, encodeReferencePayload(reply.id, Preface.NESTED_RECV)),
          }),
        ]),
      );
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

/** Stream 3 is the reply channel of the first call that names it; a unary call gets one answer at most. */
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
  const first = c.calls?.find((x) => x.r === REPLY);
  if (first === undefined || first.s === 1) return; // damaged bytes, or a stream call: any number of items
  assert.ok(got.length <= 1, `a unary call has one answer at most, got ${got.length}`);
  const answer = got[0];
  if (answer?.type === RecordType.MESSAGE) {
    const v = answer.value as Record<string, unknown>;
    assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), 'a reply is a map');
    assert.ok(
      Object.keys(v).every((k) => k === 'v' || k === 's'),
      `reply keys ${Object.keys(v).join(',')}`,
    );
  }
}
