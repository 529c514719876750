/**
 * Fuzzing the multiplexer: a real Session reads bytes that a raw peer writes on an in-memory socket —
 * the PROTOCOL.md vectors and captured real traffic, recombined and damaged, and plain noise — in random
 * chunks, then the peer ends, dies, or the session is closed under it.
 *
 * Properties: nothing escapes to the process; the session always ends (no hang) with nothing left in
 * its stream table, cleanly or with a TransportError of a code the peer's input can cause (never
 * INTERNAL_ERROR, which would be an exception of ours); every stream it handed out closes with such an
 * error too; a header that breaks the protocol at a frame boundary always ends the session with a
 * protocol error and GoAway(1) on the wire; and after each batch the process still serves a fresh
 * connection. The frame reader alone: whatever the bytes and chunking, it reports the same headers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { TransportError } from '../../src/transport/errors.js';
import { getUint32 } from '../../src/transport/mux/frame.js';
import { Flag, FrameType, GoAwayCode, HEADER_LENGTH, Session } from '../../src/transport/mux/index.js';
import { FrameReader, Verdict } from '../../src/transport/mux/reader.js';
import { memoryDuplexPair } from '../support/memory-duplex.js';
import { allVectors } from '../support/vectors.js';
import { within } from '../transport/channel/pair.js';
import { type Capture, capture } from './capture.js';
import { frameSequence } from './frames.js';
import { healthyEcho } from './healthy.js';
import { applyMutations, cuts, fuzzInput, mutation, split } from './mutate.js';
import { runFuzz } from './runs.js';
import { assertTyped, ProcessTrap } from './trap.js';

/** Above the 256 KiB window, so a peer can overrun the window in one frame (WINDOW_EXCEEDED). */
const MAX_FRAME = 1024 * 1024;
const CONFIG = {
  keepAliveIntervalMs: 0,
  maxConcurrentStreams: 8,
  maxAcceptBacklog: 4,
  maxFrameLength: MAX_FRAME,
  closeTimeoutMs: 20,
};

/** How a session may end because of what a peer sent. */
const SESSION_CODES = ['PROTOCOL_ERROR', 'WINDOW_EXCEEDED', 'FRAME_TOO_LARGE', 'GO_AWAY', 'CONNECTION_LOST'];
const PROTOCOL_CLASS = ['PROTOCOL_ERROR', 'WINDOW_EXCEEDED', 'FRAME_TOO_LARGE'];
/** How one stream may end: those, a reset, or the session closed under it. */
const STREAM_CODES = [...SESSION_CODES, 'STREAM_RESET', 'SESSION_CLOSED'];

/** What the input alone says about how the session must end (state-free checks, at frame boundaries). */
interface Expectation {
  /** 'protocol': a header breaks the protocol; 'goaway': the peer sends GoAway with an error code first. */
  readonly verdict: 'protocol' | 'goaway' | 'none';
  /** The input ends exactly at a frame boundary. */
  readonly boundary: boolean;
  /** A GoAway(0) came before the verdict (or the end). */
  readonly normalGoAway: boolean;
}

function expectation(input: Uint8Array): Expectation {
  let pos = 0;
  let normalGoAway = false;
  while (pos + HEADER_LENGTH <= input.length) {
    const [version, type] = [input[pos]!, input[pos + 1]!];
    const id = getUint32(input, pos + 4);
    const length = getUint32(input, pos + 8);
    const bad =
      version !== 0 ||
      type > FrameType.GoAway ||
      ((type === FrameType.Data || type === FrameType.WindowUpdate) && id === 0) ||
      ((type === FrameType.Ping || type === FrameType.GoAway) && id !== 0) ||
      (type === FrameType.Data && length > MAX_FRAME);
    if (bad) return { verdict: 'protocol', boundary: false, normalGoAway };
    if (type === FrameType.GoAway) {
      if (length !== GoAwayCode.Normal) return { verdict: 'goaway', boundary: false, normalGoAway };
      normalGoAway = true;
    }
    pos += HEADER_LENGTH + (type === FrameType.Data ? length : 0);
  }
  return { verdict: 'none', boundary: pos === input.length, normalGoAway };
}

type Finish = 'peer-end' | 'peer-destroy' | 'local-destroy' | 'local-close';

interface MuxCase {
  role: 'client' | 'server';
  input: Uint8Array;
  cuts: number[];
  maxChunk: number | undefined;
  finish: Finish;
}

/** The frames a byte string holds (as far as whole frames go). */
function frames(bytes: Uint8Array): { type: number; flags: number; streamId: number; length: number }[] {
  const out: { type: number; flags: number; streamId: number; length: number }[] = [];
  const reader = new FrameReader({
    onHeader: (_v, type, flags, streamId, length) => {
      out.push({ type, flags, streamId, length });
      return Verdict.Next;
    },
    onPayload: () => {},
  });
  reader.push(Buffer.from(bytes));
  return out;
}

async function runCase(c: MuxCase, trap: ProcessTrap): Promise<void> {
  // Tiny chunks for small inputs only: a window-sized payload a byte at a time is slow and adds nothing.
  const small = c.maxChunk !== undefined && c.input.length <= 4096;
  const [mine, theirs] = memoryDuplexPair(small ? { maxChunk: c.maxChunk } : {});
  const out: Buffer[] = [];
  theirs.on('data', (chunk: Buffer) => out.push(chunk));
  theirs.on('error', () => {});
  const session = new Session(mine, c.role, CONFIG);
  const streamEnds: (TransportError | undefined)[] = [];
  let handedOut = 0;
  const track = { onClose: (err: TransportError | undefined) => void streamEnds.push(err) };
  session.onStream = (s) => {
    handedOut++;
    // Exercise every receive path: echo (writes back within the window), stay paused, or reset.
    const mode = s.id % 5;
    if (mode === 3) s.pause();
    s.listen({
      onData: (chunk) => {
        if (mode === 4) s.reset();
        else if (mode !== 3) s.write(chunk);
      },
      onEnd: () => s.end(),
      ...track,
    });
  };
  // One stream of our own, so frames for our parity can hit an open stream.
  const own = session.open(Uint8Array.of(1));
  handedOut++;
  own.listen({ onData: () => {}, onEnd: () => own.end(), ...track });

  for (const piece of split(c.input, c.cuts)) theirs.write(piece);
  switch (c.finish) {
    case 'peer-end':
      theirs.end();
      break;
    case 'peer-destroy':
      theirs.destroy();
      break;
    case 'local-destroy':
      session.destroy();
      theirs.end();
      break;
    case 'local-close':
      void session.close();
      setImmediate(() => theirs.end());
      break;
  }
  const err = await within(session.closed, 5_000, 'the session to end');
  await new Promise((r) => setImmediate(r));

  assert.equal(session.streamCount, 0, 'stream table empty');
  if (err !== undefined) assertTyped(err, SESSION_CODES, 'session end');
  assert.equal(streamEnds.length, handedOut, 'every stream closed exactly once');
  for (const e of streamEnds) if (e !== undefined) assertTyped(e, STREAM_CODES, 'stream end');

  if (c.finish === 'peer-end' || c.finish === 'peer-destroy') {
    const x = expectation(c.input);
    if (x.verdict === 'protocol') {
      assert.ok(
        err !== undefined && PROTOCOL_CLASS.includes(err.code),
        `protocol error expected, got ${err?.code}`,
      );
    } else if (x.verdict === 'goaway') {
      assert.ok(err !== undefined && [...PROTOCOL_CLASS, 'GO_AWAY'].includes(err.code), String(err?.code));
    } else if (x.boundary && x.normalGoAway) {
      assert.ok(err === undefined || PROTOCOL_CLASS.includes(err.code), String(err?.code));
    } else {
      assert.ok(
        err !== undefined && [...PROTOCOL_CLASS, 'CONNECTION_LOST'].includes(err.code),
        String(err?.code),
      );
    }
  }
  // A protocol error we detect is told to the peer, when it can still hear us.
  if (c.finish === 'peer-end' && err !== undefined && PROTOCOL_CLASS.includes(err.code)) {
    const wrote = frames(Buffer.concat(out));
    assert.ok(
      wrote.some((f) => f.type === FrameType.GoAway && f.length === GoAwayCode.ProtocolError),
      'GoAway(1) written',
    );
  }
  mine.destroy();
  theirs.destroy();
  assert.equal(trap.caught.length, 0, 'nothing escaped');
}

describe('fuzz: multiplexer', () => {
  let trap: ProcessTrap;
  let seeds: { fromClient: Uint8Array[]; fromServer: Uint8Array[] };
  before(async () => {
    trap = new ProcessTrap();
    const cap: Capture = await capture();
    const vectors = [...allVectors()].filter(
      ([name]) => name.startsWith('mux.') || name === 'channel.open-syn',
    );
    const v = vectors.map(([, bytes]) => bytes);
    // A server-role session reads what a client writes, and the other way round.
    seeds = {
      fromClient: [...v, ...cap.fromClient.frames, cap.fromClient.bytes],
      fromServer: [...v, ...cap.fromServer.frames, cap.fromServer.bytes],
    };
  });
  after(() => {
    trap.assertEmpty();
    trap.dispose();
  });

  it('a session fed damaged frames ends typed, empty and told, and the process serves on', async (t) => {
    const muxCase = (role: 'client' | 'server') =>
      fc.record({
        role: fc.constant(role),
        input: fc.oneof(
          fuzzInput(role === 'server' ? seeds.fromClient : seeds.fromServer, { maxSeeds: 5 }),
          frameSequence(role),
          fc
            .tuple(frameSequence(role), fc.array(mutation(), { minLength: 1, maxLength: 3 }))
            .map(([bytes, ops]) => applyMutations(bytes, ops)),
        ),
        cuts: cuts(),
        maxChunk: fc.constantFrom(undefined, undefined, 1, 5, 13),
        finish: fc.constantFrom<Finish>(
          'peer-end',
          'peer-end',
          'peer-destroy',
          'local-destroy',
          'local-close',
        ),
      });
    await runFuzz(
      t,
      'mux session',
      fc.asyncProperty(fc.oneof(muxCase('server'), muxCase('client')), (c) => runCase(c, trap)),
      300,
    );
    await healthyEcho();
    trap.assertEmpty();
  });

  it('the frame reader reports the same headers and payload bytes however the input is chunked', async (t) => {
    const parse = (pieces: Uint8Array[]) => {
      const seen: number[] = [];
      const reader = new FrameReader({
        onHeader: (v, type, flags, id, length) => {
          seen.push(v, type, flags, id, length);
          return Verdict.Payload;
        },
        onPayload: (piece, last) => {
          for (const b of piece) seen.push(b);
          if (last) seen.push(-1);
        },
      });
      for (const p of pieces) reader.push(Buffer.from(p));
      return seen;
    };
    const all = [...allVectors().values(), ...(await capture()).fromClient.frames];
    await runFuzz(
      t,
      'mux frame reader',
      fc.property(fuzzInput(all), cuts(), (input, at) => {
        assert.deepEqual(parse(split(input, at)), parse([input]));
      }),
      500,
      2,
    );
  });

  it('the expectation itself: vectors are clean, a bad version is caught', () => {
    assert.equal(expectation(new Uint8Array(0)).verdict, 'none');
    const ping = Uint8Array.of(0, FrameType.Ping, 0, Flag.SYN, 0, 0, 0, 0, 0, 0, 0, 7);
    assert.deepEqual(expectation(ping), { verdict: 'none', boundary: true, normalGoAway: false });
    assert.equal(expectation(Uint8Array.of(1, ...ping.subarray(1))).verdict, 'protocol');
  });
});
