/**
 * Fuzzing the prelude (hello / accept / reject) and the door it guards.
 *
 * - Each half of the exchange over memory, against a peer writing damaged prelude frames (the
 *   PROTOCOL.md vectors, with multiplexer frames after them) and then hanging up: it succeeds exactly
 *   when the document says so, leaving every byte after the frame unread, or fails with the document's
 *   typed error (HANDSHAKE_FAILED, CONNECTION_LOST, UNAUTHENTICATED / CONNECTION_LIMIT with the REJECT
 *   reason).
 * - A TCP listener on 127.0.0.1 against raw clients: a connection is handed over exactly when its HELLO
 *   is good; every other one is refused with a typed error; nothing stays in handshake.
 * - An actor system listening over mutual TLS 1.3, against raw TLS clients writing a real actor call
 *   (damaged or not): a client whose key is not authorized never reaches an actor and reads REJECT
 *   UNKNOWN_KEY, whatever it writes; an authorized one reaches it with the undamaged call.
 *
 * Nothing escapes to the process; after each batch the process still serves a fresh connection.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type tls from 'node:tls';
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { ActorSystem, actor, callContext } from '../../src/actors/index.js';
import type { CertificateMaterial, Identity } from '../../src/auth/index.js';
import { frameRecord, Preface, RecordType } from '../../src/transport/channel/index.js';
import {
  type Connection,
  encodeHello,
  type Listener,
  listenTcp,
} from '../../src/transport/connection/index.js';
import { clientPrelude, serverAccept } from '../../src/transport/connection/prelude-exchange.js';
import { isTransportError } from '../../src/transport/errors.js';
import { encodeHeader, Flag, FrameType } from '../../src/transport/mux/index.js';
import { memoryDuplexPair } from '../support/memory-duplex.js';
import { vector } from '../support/vectors.js';
import { within } from '../transport/channel/pair.js';
import { identityWithCert, rawTcp, rawTls, refusals } from '../transport/connection/helpers.js';
import { capture } from './capture.js';
import { healthyEcho } from './healthy.js';
import { applyMutations, concat, cuts, fuzzInput, mutation, split } from './mutate.js';
import { predictPrelude } from './prelude-oracle.js';
import { runFuzz } from './runs.js';
import { assertTyped, ProcessTrap } from './trap.js';
import { until } from './wait.js';

let trap: ProcessTrap;
let seeds: Uint8Array[];
before(async () => {
  trap = new ProcessTrap();
  const mux = (await capture()).fromClient.frames.slice(0, 3);
  const frames = [
    'prelude.hello',
    'prelude.accept',
    'prelude.reject-unknown-key',
    'prelude.reject-overloaded',
  ].map(vector);
  seeds = [...frames, ...frames.map((f) => concat([f, ...mux]))];
});
after(() => {
  trap.assertEmpty();
  trap.dispose();
});

type Half = 'client' | 'server';

/** One half of the prelude against a peer that writes `input` and hangs up. */
async function half(
  side: Half,
  input: Uint8Array,
  at: number[],
  maxChunk: number | undefined,
): Promise<void> {
  const [mine, theirs] = memoryDuplexPair(maxChunk === undefined ? {} : { maxChunk });
  theirs.on('error', () => {});
  mine.on('error', () => {});
  try {
    const run = side === 'client' ? clientPrelude(mine) : serverAccept(mine);
    const result = run.then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    for (const piece of split(input, at)) theirs.write(piece);
    theirs.end();
    const got = await within(result, 5_000, 'the prelude to settle');
    // Our own frame went out first, whatever the peer said.
    const own = theirs.read(8) as Buffer | null;
    assert.deepEqual(
      own && Uint8Array.from(own),
      vector(side === 'client' ? 'prelude.hello' : 'prelude.accept'),
    );
    const want = predictPrelude(input, side);
    if (want.ok) {
      assert.ok(got.ok, `expected success, got ${String(!got.ok && got.e)}`);
      assert.deepEqual(got.v, { version: 2, codec: 'msgpack' });
      const rest = mine.read() as Buffer | null;
      assert.deepEqual(rest ? Uint8Array.from(rest) : new Uint8Array(0), input.subarray(want.frameLength));
    } else {
      assert.ok(!got.ok, 'expected a failure, got success');
      assertTyped(got.e, [want.code], `${side} prelude`);
      if (want.remoteCode !== undefined)
        assert.equal((got.e as { remoteCode?: string }).remoteCode, want.remoteCode);
    }
  } finally {
    mine.destroy();
    theirs.destroy();
  }
}

describe('fuzz: prelude halves', () => {
  for (const side of ['client', 'server'] as const) {
    it(`the ${side}'s half succeeds exactly on a good ${side === 'client' ? 'ACCEPT' : 'HELLO'}, else fails typed`, async (t) => {
      await runFuzz(
        t,
        `prelude ${side}`,
        fc.asyncProperty(
          fuzzInput(seeds, { maxSeeds: 2, maxRandom: 24 }),
          cuts(),
          fc.constantFrom(undefined, 1, 3),
          (input, at, maxChunk) => half(side, input, at, maxChunk),
        ),
        300,
      );
      assert.equal(trap.caught.length, 0);
    });
  }
});

describe('fuzz: a TCP listener', () => {
  let listener: Listener;
  const connections: Connection[] = [];
  const refused = refusals();
  before(async () => {
    listener = await listenTcp({ handshakeTimeoutMs: 3_000, onRefused: refused.onRefused }, (c) =>
      connections.push(c),
    );
  });
  after(() => listener.close({ destroyConnections: true }));

  it('hands over exactly the connections whose HELLO is good; refuses the rest typed', async (t) => {
    await runFuzz(
      t,
      'prelude listener (TCP)',
      fc.asyncProperty(fuzzInput(seeds, { maxSeeds: 2, maxRandom: 24 }), cuts(), async (input, at) => {
        const [before, refusedBefore] = [connections.length, refused.events.length];
        const socket: net.Socket = await rawTcp(listener.port);
        socket.on('error', () => {});
        socket.resume();
        for (const piece of split(input, at)) socket.write(piece);
        socket.end();
        await until(
          () => connections.length + refused.events.length > before + refusedBefore,
          5_000,
          'the listener to decide',
        );
        const want = predictPrelude(input, 'server');
        if (want.ok) {
          assert.equal(connections.length, before + 1, 'handed over');
          connections.at(-1)!.socket.destroy();
        } else {
          assert.equal(connections.length, before, 'not handed over');
          const event = refused.events.at(-1)!;
          assertTyped(event.error, [want.code], 'refusal');
          assert.equal(event.reason, want.code === 'CONNECTION_LOST' ? 'CLOSED' : 'PRELUDE_FAILED');
        }
        socket.destroy();
        await until(
          () => listener.handshakes === 0 && listener.connections === 0,
          5_000,
          'the listener to be idle',
        );
      }),
      40,
      0.02,
    );
    await healthyEcho();
    assert.equal(trap.caught.length, 0);
  });
});

/** Who reached the actor: the key id of each caller. */
const reached = { callers: [] as (string | undefined)[] };

@actor('guard')
class Guard {
  secret(): string {
    const ctx = callContext();
    reached.callers.push(ctx.caller.id);
    return 'the secret';
  }
}

/** A whole, good client opening: HELLO, then a call stream (DUPLEX) with the CALL to the guard and FIN. */
function goodOpening(): Uint8Array {
  const data = (flags: number, id: number, payload: Uint8Array) =>
    concat([encodeHeader({ type: FrameType.Data, flags, streamId: id, length: payload.length }), payload]);
  const record = (v: unknown) => frameRecord(RecordType.MESSAGE, encode(v));
  return concat([
    encodeHello(),
    data(Flag.SYN, 1, concat([Uint8Array.of(Preface.DUPLEX), record({ n: 'guard', m: 'secret', a: [] })])),
    encodeHeader({ type: FrameType.WindowUpdate, flags: Flag.FIN, streamId: 1, length: 0 }),
  ]);
}

describe('fuzz: the door of an actor system (mutual TLS 1.3)', () => {
  let server: ActorSystem;
  let port: number;
  const reports: unknown[] = [];
  let good: { identity: Identity; cert: CertificateMaterial };
  let stranger: { identity: Identity; cert: CertificateMaterial };
  before(async () => {
    [good, stranger] = await Promise.all([identityWithCert(), identityWithCert()]);
    const serverId = (await identityWithCert()).identity;
    server = new ActorSystem({
      identity: serverId,
      authorizedKeys: [{ key: good.identity.id, name: 'good' }],
      onError: (e) => reports.push(e),
      config: { closeTimeoutMs: 200 },
    });
    await server.register(Guard);
    ({ port } = await server.listen());
  });
  after(() => server.close());

  /**
   * Writes `input` as `who` over TLS, waits until `settled(received so far)` or the server hangs up, then
   * hangs up itself and waits for the server to drop the connection. Resolves with what the server sent.
   */
  async function knock(
    who: { cert: CertificateMaterial },
    input: Uint8Array,
    settled: (received: Buffer) => boolean,
  ): Promise<Buffer> {
    const socket: tls.TLSSocket = await rawTls(port, { cert: who.cert });
    socket.on('error', () => {});
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    let closed = false;
    socket.once('close', () => {
      closed = true;
    });
    socket.write(input);
    await until(() => closed || settled(Buffer.concat(received)), 5_000, 'an outcome');
    socket.destroy();
    await until(() => server.stats().connections === 0, 5_000, 'the server to drop the connection');
    return Buffer.concat(received);
  }

  const REJECT_UNKNOWN_KEY = [0x52, 0x58, 0x43, 0x48, 0x03, 0x01];
  const rejected = (r: Buffer) => r.length >= REJECT_UNKNOWN_KEY.length;

  it('the good opening reaches the actor for an authorized key, never for a stranger (the check can fail)', async () => {
    await knock(good, goodOpening(), () => reached.callers.includes(good.identity.id));
    const answer = await knock(stranger, goodOpening(), rejected);
    assert.deepEqual([...answer.subarray(0, 6)], REJECT_UNKNOWN_KEY, 'REJECT UNKNOWN_KEY');
    assert.ok(!reached.callers.includes(stranger.identity.id), 'the stranger reached nothing');
  });

  it('an unauthorized key never reaches an actor, whatever it writes', async (t) => {
    const opening = goodOpening();
    await runFuzz(
      t,
      'prelude door (TLS)',
      fc.asyncProperty(
        fc.boolean(),
        fc.oneof(
          { weight: 2, arbitrary: fc.constant(opening) },
          {
            weight: 3,
            arbitrary: fc
              .array(mutation(), { minLength: 1, maxLength: 4 })
              .map((ops) => applyMutations(opening, ops)),
          },
          { weight: 1, arbitrary: fuzzInput(seeds, { maxSeeds: 2 }) },
        ),
        async (authorized, input) => {
          // An authorized client gets a moment to do whatever its bytes do, then hangs up.
          let waited = false;
          setTimeout(() => {
            waited = true;
          }, 2);
          const answer = await knock(
            authorized ? good : stranger,
            input,
            authorized ? () => waited : rejected,
          );
          if (!authorized) {
            assert.deepEqual([...answer.subarray(0, 6)], REJECT_UNKNOWN_KEY, 'REJECT UNKNOWN_KEY');
            assert.ok(!reached.callers.includes(stranger.identity.id), 'the stranger reached nothing');
          }
        },
      ),
      16,
      0.005,
    );
    // Calls may still be served after their connection went (the mailbox was already running them).
    assert.ok(!reached.callers.includes(stranger.identity.id), 'the stranger reached nothing');
    assert.ok(
      reached.callers.every((id) => id === good.identity.id),
      'only the authorized key',
    );
    for (const r of reports) assert.ok(isTransportError(r) || r instanceof Error, String(r));
    await healthyEcho();
    assert.equal(trap.caught.length, 0);
  });
});
