/**
 * Fuzzing the channel layer: a real ChannelSession faces a peer that speaks correct yamux (a real mux
 * Session) but writes damaged channel bytes. The peer first opens one nested stream of each kind
 * (NESTED_SEND, NESTED_RECV, BYTES_SEND, BYTES_RECV), then a channel (mostly preface CHANNEL, sometimes
 * any byte) on which it writes records built from random MessagePack values with references, the
 * PROTOCOL.md vectors and captured real records — recombined, damaged or as they are — in random
 * chunks, then FIN, RST, or dies.
 *
 * Properties: nothing escapes to the process; the channel's Receiver delivers exactly the messages the
 * bytes hold, in order, and ends as they say (complete, CHANNEL_ERROR with the peer's code, or the typed
 * error of the first bad record: DECODE_ERROR, MESSAGE_TOO_LARGE, REFERENCE_LIMIT, BAD_REFERENCE); every
 * end handed out in a message ends typed; bad channel input never closes the connection — a fresh
 * channel on it still delivers; once the peer lets go of its streams, the stream table and the unclaimed
 * table are empty; and after each batch the process still serves a fresh connection.
 */
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import {
  ChannelSession,
  frameRecord,
  Preface,
  Receiver,
  RecordType,
  Sender,
} from '../../src/transport/channel/index.js';
import { Session, type Stream } from '../../src/transport/mux/index.js';
import { memoryDuplexPair } from '../support/memory-duplex.js';
import { allVectors } from '../support/vectors.js';
import { within } from '../transport/channel/pair.js';
import { capture } from './capture.js';
import { type EndKind, EndMark, type Limits, type PredictedEnd, predict } from './channel-oracle.js';
import { healthyEcho } from './healthy.js';
import { applyMutations, concat, cuts, fuzzInput, mutation, split } from './mutate.js';
import { type NestedStream, records } from './records.js';
import { runFuzz } from './runs.js';
import { assertTyped, describe as describeError, ProcessTrap } from './trap.js';
import { until } from './wait.js';

const LIMITS: Limits = { maxMessageSize: 4096, maxNestingDepth: 8, maxReferencesPerMessage: 4 };
const CHANNEL_CONFIG = { ...LIMITS, maxUnclaimedStreams: 4, maxAcceptBacklog: 8 };
const MUX = { keepAliveIntervalMs: 0, closeTimeoutMs: 50 };

/** How a channel may end because of what its peer wrote on it. */
const CHANNEL_CODES = [
  'DECODE_ERROR',
  'MESSAGE_TOO_LARGE',
  'BAD_REFERENCE',
  'REFERENCE_LIMIT',
  'STREAM_RESET',
];
/** How anything may end when the connection dies under it. */
const SESSION_END = ['CONNECTION_LOST', 'SESSION_CLOSED', 'GO_AWAY'];
/** How the ends handed out in messages may end: their own bad input, the peer's error or cancel, or the connection. */
const END_CODES = [...CHANNEL_CODES, 'CHANNEL_ERROR', 'CHANNEL_CANCELLED', 'STREAM_CLOSED', ...SESSION_END];

type Finish = 'fin' | 'rst' | 'peer-destroy';

interface ChannelCase {
  targetRole: 'client' | 'server';
  preface: number;
  input: Uint8Array;
  cuts: number[];
  maxChunk: number | undefined;
  finish: Finish;
}

/** The nested streams the peer of a `targetRole` side opens first: ids of the peer's parity. */
function nestedFor(targetRole: 'client' | 'server'): NestedStream[] {
  const first = targetRole === 'server' ? 1 : 2;
  return [Preface.NESTED_SEND, Preface.NESTED_RECV, Preface.BYTES_SEND, Preface.BYTES_RECV].map(
    (preface, i) => ({
      id: first + 2 * i,
      preface,
    }),
  );
}

interface Watched {
  readonly values: unknown[];
  /** Resolves with the error it ended with (undefined: completed). */
  readonly done: Promise<unknown>;
}

/** Subscribe to `r`, use every end its messages carry, record how everything ends. */
function watch(r: Receiver<unknown>, endings: Promise<unknown>[]): Watched {
  const values: unknown[] = [];
  const done = new Promise<unknown>((resolve) =>
    r.subscribe({
      next: (v) => {
        values.push(v);
        use(v, endings, 0);
      },
      error: (err) => resolve(err),
      complete: () => resolve(undefined),
    }),
  );
  return { values, done };
}

/** Every end inside a message is used the way an application would: read, answered, drained, ended. */
function use(value: unknown, endings: Promise<unknown>[], depth: number): void {
  if (depth > 10 || typeof value !== 'object' || value === null) return;
  if (value instanceof Receiver) {
    endings.push(watch(value, endings).done);
  } else if (value instanceof Sender) {
    endings.push(
      value.send('answer').then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
    value.close();
  } else if (value instanceof Readable) {
    endings.push(
      new Promise((resolve) => value.once('error', resolve).once('end', () => resolve(undefined))),
    );
    value.resume();
  } else if (value instanceof Writable) {
    endings.push(
      new Promise((resolve) => value.once('error', resolve).once('finish', () => resolve(undefined))),
    );
    value.end();
  } else if (Array.isArray(value)) {
    for (const v of value) use(v, endings, depth + 1);
  } else if (!(value instanceof Uint8Array) && !(value instanceof Date)) {
    for (const v of Object.values(value)) use(v, endings, depth + 1);
  }
}

function quiet(stream: Stream): Stream {
  stream.listen({ onData: () => {}, onEnd: () => {}, onClose: () => {} });
  return stream;
}

async function runCase(c: ChannelCase, trap: ProcessTrap): Promise<void> {
  const [a, b] = memoryDuplexPair(c.maxChunk === undefined ? {} : { maxChunk: c.maxChunk });
  const target = new ChannelSession(new Session(a, c.targetRole, MUX), CHANNEL_CONFIG);
  const peer = new Session(b, c.targetRole === 'server' ? 'client' : 'server', MUX);
  const top: Watched[] = [];
  const endings: Promise<unknown>[] = [];
  target.onChannel = (r) => void top.push(watch(r, endings));
  try {
    const peerStreams = nestedFor(c.targetRole).map((n) => {
      const s = quiet(peer.open(Uint8Array.of(n.preface)));
      if (n.preface === Preface.NESTED_RECV || n.preface === Preface.BYTES_RECV) s.end(); // it only reads
      return s;
    });
    const channel = quiet(peer.open(Uint8Array.of(c.preface)));
    peerStreams.push(channel);
    for (const piece of split(c.input, c.cuts)) channel.write(piece);
    if (c.finish === 'fin') channel.end();
    else if (c.finish === 'rst') channel.reset();
    else peer.destroy();

    const isChannel = c.preface === Preface.CHANNEL;
    if (c.finish === 'peer-destroy') {
      await within(target.closed, 5_000, 'the target session to end');
    } else if (isChannel) {
      await until(() => top.length >= 1, 5_000, 'the fuzzed channel to arrive');
      const fuzzed = top[0]!;
      const end = await within(fuzzed.done, 5_000, 'the fuzzed channel to end');
      const predicted = checkAgainstPrediction(c, fuzzed.values, end);
      tally[predicted]++;

      // The connection survived: a fresh channel still delivers.
      const alive = quiet(peer.open(Uint8Array.of(Preface.CHANNEL)));
      peerStreams.push(alive);
      alive.write(frameRecord(RecordType.MESSAGE, encode('alive')));
      alive.end();
      await until(() => top.length >= 2, 5_000, 'the fresh channel to arrive');
      assert.equal(await within(top[1]!.done, 5_000, 'the fresh channel to end'), undefined);
      assert.deepEqual(top[1]!.values, ['alive']);
    }

    // Let go of everything on the peer's side. Reset, not FIN: a nested stream that its opener ended
    // stays claimable (by design, within maxUnclaimedStreams) until a message names it or the session
    // ends; a reset one is forgotten. What the target still holds after this is a leak.
    if (c.finish !== 'peer-destroy') {
      assert.equal(target.mux.isClosed, false, 'bad channel input never closes the connection');
      for (const s of peerStreams) s.reset();
    }
    const ends = await within(
      Promise.all([...top.map((w) => w.done), ...endings]),
      5_000,
      'every end to end',
    );
    for (const e of ends) if (e !== undefined) assertTyped(e, END_CODES, 'an end handed out');
    await until(
      () => target.mux.streamCount === 0 && target.unclaimedCount === 0,
      5_000,
      `the target's tables to empty (streams ${target.mux.streamCount}, unclaimed ${target.unclaimedCount})`,
    );
    if (trap.caught.length > 0) assert.fail(`escaped: ${describeError(trap.caught[0]!.error)}`);
  } finally {
    target.destroy();
    peer.destroy();
  }
}

/** How the cases whose channel was checked against a prediction were predicted to end. */
const tally: Record<PredictedEnd['kind'], number> = { complete: 0, error: 0, undetermined: 0 };

/**
 * The fuzzed channel delivered what its bytes hold and ended as they say. Returns how the prediction
 * ended.
 */
function checkAgainstPrediction(c: ChannelCase, values: unknown[], end: unknown): PredictedEnd['kind'] {
  const p = predict(c.input, LIMITS, nestedFor(c.targetRole));
  if (p.end.kind === 'undetermined') {
    assert.deepEqual(
      comparable(values.slice(0, p.values.length)),
      comparable(p.values),
      'before the undetermined record',
    );
    if (end !== undefined) assertTyped(end, [...CHANNEL_CODES, 'CHANNEL_ERROR'], 'the fuzzed channel');
    return p.end.kind;
  }
  if (c.finish === 'rst') {
    // A reset drops what was not delivered yet: a prefix, then the reset or the bytes' own error.
    assert.deepEqual(comparable(values), comparable(p.values.slice(0, values.length)), 'a prefix of them');
    const allowed = p.end.kind === 'error' ? ['STREAM_RESET', ...p.end.codes] : ['STREAM_RESET'];
    assertTyped(end, allowed, 'the reset channel');
    return p.end.kind;
  }
  assert.deepEqual(comparable(values), comparable(p.values), 'exactly the messages the bytes hold');
  if (p.end.kind === 'complete') {
    assert.equal(end, undefined, `completes, got ${describeError(end)}`);
  } else {
    assertTyped(end, p.end.codes, 'the fuzzed channel');
    if (p.end.remoteCode !== undefined)
      assert.equal((end as { remoteCode?: string }).remoteCode, p.end.remoteCode);
  }
  return p.end.kind;
}

/**
 * Values as deepEqual can compare them: an invalid Date (a timestamp out of range) is never equal to
 * itself, and an end handed out in a message is compared by its kind, as the oracle predicts it.
 */
function comparable(value: unknown): unknown {
  if (value instanceof Date) return `Date(${value.getTime()})`;
  const kind = endKind(value);
  if (kind !== undefined) return new EndMark(kind);
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
  }
  return value;
}

function endKind(value: unknown): EndKind | undefined {
  if (value instanceof EndMark) return value.kind;
  if (value instanceof Receiver) return 'Receiver';
  if (value instanceof Sender) return 'Sender';
  if (value instanceof Readable) return 'Readable';
  if (value instanceof Writable) return 'Writable';
  return undefined;
}

/** The share of checked cases the oracle left undetermined, for the test output and the fuzz report. */
function reportTally(t: { diagnostic(message: string): void }): void {
  const checked = tally.complete + tally.error + tally.undetermined;
  const share = checked === 0 ? 0 : (100 * tally.undetermined) / checked;
  t.diagnostic(
    `channel oracle: ${checked} cases checked against a prediction (complete ${tally.complete}, ` +
      `error ${tally.error}), undetermined ${tally.undetermined} (${share.toFixed(2)}%)`,
  );
  if (process.env.FUZZ_STATS) {
    // cases 0: these are counts of the cases the property already reported, not more cases.
    const counts = { checked, undetermined: tally.undetermined };
    process.stderr.write(
      `FUZZ-STAT ${JSON.stringify({ name: 'channel session', cases: 0, ms: 0, counts })}\n`,
    );
  }
}

describe('fuzz: channels', () => {
  let trap: ProcessTrap;
  let seeds: Uint8Array[];
  before(async () => {
    trap = new ProcessTrap();
    const cap = await capture();
    const vectors = [...allVectors()]
      .filter(([name]) => /^(channel|actors)\.(record|call|reply|stream|open)/.test(name))
      .map(([, bytes]) => bytes);
    // Captured channel streams, without their preface byte: real records as the actor layer writes them.
    const captured = [...cap.fromClient.streams, ...cap.fromServer.streams].map((s) => s.subarray(1));
    seeds = [...vectors, ...captured.filter((s) => s.length > 0)];
  });
  after(() => {
    trap.assertEmpty();
    trap.dispose();
  });

  it('a channel fed damaged records delivers exactly what they hold, ends typed, and the connection lives on', async (t) => {
    const channelCase = (targetRole: 'client' | 'server') => {
      const nested = nestedFor(targetRole);
      return fc.record({
        targetRole: fc.constant(targetRole),
        preface: fc.oneof(
          { weight: 9, arbitrary: fc.constant(Preface.CHANNEL) },
          fc.integer({ min: 0, max: 255 }),
        ),
        input: fc.oneof(
          { weight: 4, arbitrary: records(nested) },
          {
            weight: 3,
            arbitrary: fc
              .tuple(records(nested), fc.array(mutation(), { minLength: 1, maxLength: 4 }))
              .map(([bytes, ops]) => applyMutations(bytes, ops)),
          },
          { weight: 3, arbitrary: fuzzInput(seeds, { maxSeeds: 3 }) },
        ),
        cuts: cuts(),
        maxChunk: fc.constantFrom(undefined, undefined, 3, 17),
        finish: fc.constantFrom<Finish>('fin', 'fin', 'fin', 'rst', 'peer-destroy'),
      });
    };
    await runFuzz(
      t,
      'channel session',
      fc.asyncProperty(fc.oneof(channelCase('server'), channelCase('client')), (c) => runCase(c, trap)),
      250,
    );
    reportTally(t);
    await healthyEcho();
    trap.assertEmpty();
  });

  it('the prediction itself: the vectors decode as documented', () => {
    const p = predict(allVectors().get('channel.record-message')!, LIMITS);
    assert.deepEqual(p, { values: [{ op: 'add', args: [1, 2] }], end: { kind: 'complete' } });
    const e = predict(allVectors().get('channel.record-error')!, LIMITS);
    assert.deepEqual(e.end, { kind: 'error', codes: ['CHANNEL_ERROR'], remoteCode: 'NOT_FOUND' });
    // The call names stream 3, opened with NESTED_RECV: the receiver gets a Sender, once.
    const call = allVectors().get('channel.record-call')!;
    const opened = [{ id: 3, preface: Preface.NESTED_RECV }];
    assert.deepEqual(predict(call, LIMITS, opened), {
      values: [{ op: 'add', args: [1, 2], reply: new EndMark('Sender') }],
      end: { kind: 'complete' },
    });
    assert.deepEqual(predict(concat([call, call]), LIMITS, opened).end, {
      kind: 'error',
      codes: ['BAD_REFERENCE'],
    });
    assert.deepEqual(predict(call, LIMITS, [{ id: 3, preface: Preface.NESTED_SEND }]).end, {
      kind: 'error',
      codes: ['BAD_REFERENCE'],
    });
    assert.deepEqual(predict(call, LIMITS).end, { kind: 'error', codes: ['BAD_REFERENCE'] });
  });

  it('the prediction itself: structure, limits and headers as PROTOCOL.md 4.2 says', () => {
    const message = (...body: number[]) => frameRecord(RecordType.MESSAGE, Uint8Array.from(body));
    const codes = (bytes: Uint8Array) => {
      const p = predict(bytes, LIMITS);
      return p.end.kind === 'error' ? p.end.codes : p.end.kind;
    };
    assert.deepEqual(codes(message(0x91, 0x01)), 'complete');
    assert.deepEqual(codes(message(0x92, 0x01)), ['DECODE_ERROR']); // truncated
    assert.deepEqual(codes(message(0x01, 0x02)), ['DECODE_ERROR']); // a byte after the value
    assert.deepEqual(codes(message(0xc1)), ['DECODE_ERROR']);
    assert.deepEqual(codes(message()), ['DECODE_ERROR']); // an empty body
    assert.deepEqual(codes(message(...new Array(8).fill(0x91), 0x01)), ['REFERENCE_LIMIT']); // depth 9
    assert.deepEqual(codes(message(...new Array(7).fill(0x91), 0x01)), 'complete'); // depth 8
    assert.deepEqual(codes(message(...new Array(8).fill(0x91))), ['DECODE_ERROR', 'REFERENCE_LIMIT']);
    const ref = [0xc7, 0x05, 0x01, 0, 0, 0, 9, Preface.NESTED_SEND];
    assert.deepEqual(codes(message(0x95, ...ref, ...ref, ...ref, ...ref, ...ref)), ['REFERENCE_LIMIT']);
    assert.deepEqual(codes(message(0xd4, 0x01, 0x00)), ['BAD_REFERENCE']); // fixext 1: wrong length
    assert.deepEqual(codes(Uint8Array.of(0, 0, 0x10, 1, 0x02)), ['MESSAGE_TOO_LARGE', 'DECODE_ERROR']);
    assert.deepEqual(codes(Uint8Array.of(0, 0, 0, 1, 0x00)), ['DECODE_ERROR']); // FIN inside the body
  });
});
