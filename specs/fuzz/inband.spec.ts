/**
 * Fuzzing the in-band key handshake (PROTOCOL.md 2.2) and the WebSocket door it guards.
 *
 * - The server's half over memory, against a peer writing damaged handshake messages (the PROTOCOL.md
 *   vectors, joined and mutated, or noise) and hanging up: it never succeeds (no input can sign for
 *   its fresh nonce), fails with exactly the typed error the document predicts from the bytes, and
 *   writes exactly what the document says: nothing before a good CLIENT_HELLO, then SERVER_PROOF, then
 *   REJECT BAD_CERTIFICATE only after a whole CLIENT_PROOF.
 * - The client's half over memory, against damaged server answers (SERVER_PROOF with and without a
 *   grant, ACCEPT, REJECTs), with and without requiring a server grant: it never succeeds (no input
 *   can sign for its fresh nonce) and fails typed.
 * - The server half runs with and without a grant of its own, and then writes SERVER_PROOF of the
 *   matching kind, the grant byte for byte.
 * - A WebSocket listener on 127.0.0.1 against raw ws clients writing the damaged bytes as binary
 *   messages: nothing is handed over, every connection is refused typed, nothing stays in handshake.
 *
 * Nothing escapes to the process; after each batch the process still serves a fresh connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { AuthorizedKeys, Identity } from '../../src/auth/index.js';
import {
  CLIENT_HELLO_LENGTH,
  CLIENT_PROOF_HEADER_LENGTH,
  INBAND_MAGIC,
  InbandKind,
  MAX_INBAND_GRANT,
  SERVER_PROOF_GRANT_HEADER_LENGTH,
  SERVER_PROOF_LENGTH,
} from '../../src/transport/connection/inband-codec.js';
import {
  acceptInband,
  type Connection,
  dialInband,
  listenWebSocket,
  type WebSocketListener,
} from '../../src/transport/connection/index.js';
import { memoryDuplexPair } from '../support/memory-duplex.js';
import { vector } from '../support/vectors.js';
import { within } from '../transport/channel/pair.js';
import { refusals } from '../transport/connection/helpers.js';
import { healthyEcho } from './healthy.js';
import { concat, cuts, fuzzInput, split } from './mutate.js';
import { runFuzz } from './runs.js';
import { assertTyped, ProcessTrap } from './trap.js';
import { until } from './wait.js';

const server = Identity.fromSeed(new Uint8Array(32).fill(0x01));
const client = Identity.fromSeed(new Uint8Array(32).fill(0x02));
const keys = AuthorizedKeys.fromList([{ key: client.publicKey, name: 'alice' }]);
const ORIGIN = 'wss://example.test/rxchan';

let trap: ProcessTrap;
let clientSeeds: Uint8Array[];
let serverSeeds: Uint8Array[];
before(() => {
  trap = new ProcessTrap();
  const hello = vector('inband.client-hello');
  const proof = vector('inband.client-proof');
  const withGrant = Uint8Array.from(proof);
  withGrant[71] = 0x8d;
  clientSeeds = [
    hello,
    proof,
    concat([hello, proof]),
    concat([hello, withGrant, vector('grant.bob')]),
    vector('prelude.hello'),
  ];
  serverSeeds = [
    vector('inband.server-proof'),
    vector('inband.server-proof-grant'),
    concat([vector('inband.server-proof-grant'), vector('prelude.accept')]),
    concat([vector('inband.server-proof'), vector('prelude.accept')]),
    vector('prelude.reject-overloaded'),
    vector('prelude.reject-unknown-key'),
    vector('prelude.accept'),
  ];
});
after(() => {
  trap.assertEmpty();
  trap.dispose();
});

/** What the document predicts for the server fed `input` and then EOF. */
function predictServer(input: Uint8Array): { code: string; wrote: 'nothing' | 'proof' | 'proof+reject' } {
  const header = (at: number, kind: number) =>
    INBAND_MAGIC.every((b, i) => input[at + i] === b) && input[at + 4] === 0x01 && input[at + 5] === kind;
  if (input.length < 6) return { code: 'CONNECTION_LOST', wrote: 'nothing' };
  if (!header(0, InbandKind.CLIENT_HELLO)) return { code: 'HANDSHAKE_FAILED', wrote: 'nothing' };
  if (input.length < CLIENT_HELLO_LENGTH) return { code: 'CONNECTION_LOST', wrote: 'nothing' };
  const at = CLIENT_HELLO_LENGTH;
  // The 72 bytes of CLIENT_PROOF's fixed part are read at once, then checked.
  if (input.length < at + CLIENT_PROOF_HEADER_LENGTH) return { code: 'CONNECTION_LOST', wrote: 'proof' };
  if (!header(at, InbandKind.CLIENT_PROOF)) return { code: 'HANDSHAKE_FAILED', wrote: 'proof' };
  const n = (input[at + 70]! << 8) | input[at + 71]!;
  if (n > MAX_INBAND_GRANT) return { code: 'HANDSHAKE_FAILED', wrote: 'proof' };
  if (input.length < at + CLIENT_PROOF_HEADER_LENGTH + n) return { code: 'CONNECTION_LOST', wrote: 'proof' };
  return { code: 'UNAUTHENTICATED', wrote: 'proof+reject' };
}

/** The server's grant when the server half shows one (kind SERVER_PROOF_GRANT), as grant.server's shape. */
const serverGrant = vector('grant.server');

async function serverHalf(
  input: Uint8Array,
  at: number[],
  maxChunk: number | undefined,
  withGrant = false,
): Promise<void> {
  const [mine, theirs] = memoryDuplexPair(maxChunk === undefined ? {} : { maxChunk });
  theirs.on('error', () => {});
  mine.on('error', () => {});
  const received: Buffer[] = [];
  theirs.on('data', (c: Buffer) => received.push(c));
  try {
    const run = acceptInband(mine, {
      signer: server,
      authorizedKeys: keys,
      origin: ORIGIN,
      timeoutMs: 5_000,
      rejectLingerMs: 0,
      ...(withGrant ? { grant: serverGrant } : {}),
    });
    const result = run.then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    for (const piece of split(input, at)) theirs.write(piece);
    theirs.end();
    const got = await within(result, 5_000, 'the server half to settle');
    assert.ok(!got.ok, 'no input can succeed');
    const want = predictServer(input);
    assertTyped(got.e, [want.code], 'server half');
    if (want.code === 'UNAUTHENTICATED')
      assert.equal((got.e as { remoteCode?: string }).remoteCode, 'BAD_CERTIFICATE');
    await new Promise((r) => setImmediate(r));
    const out = Buffer.concat(received);
    if (want.wrote === 'nothing') assert.equal(out.length, 0, 'nothing written before a good CLIENT_HELLO');
    else {
      const proofLength = withGrant
        ? SERVER_PROOF_GRANT_HEADER_LENGTH + serverGrant.length
        : SERVER_PROOF_LENGTH;
      assert.ok(out.length >= proofLength, 'SERVER_PROOF written');
      assert.equal(out[5], withGrant ? InbandKind.SERVER_PROOF_GRANT : InbandKind.SERVER_PROOF);
      if (withGrant)
        assert.deepEqual(
          out.subarray(SERVER_PROOF_GRANT_HEADER_LENGTH, proofLength),
          Buffer.from(serverGrant),
        );
      if (want.wrote === 'proof') assert.equal(out.length, proofLength, 'nothing after SERVER_PROOF');
    }
  } finally {
    mine.destroy();
    theirs.destroy();
  }
}

async function clientHalf(
  input: Uint8Array,
  at: number[],
  maxChunk: number | undefined,
  requireGrant = false,
): Promise<void> {
  const [mine, theirs] = memoryDuplexPair(maxChunk === undefined ? {} : { maxChunk });
  theirs.on('error', () => {});
  mine.on('error', () => {});
  theirs.resume();
  try {
    const run = dialInband(mine, {
      signer: client,
      serverKey: server.publicKey,
      origin: ORIGIN,
      timeoutMs: 5_000,
      // A check that accepts any grant: even then, no forged answer gets through.
      ...(requireGrant ? { serverGrant: (g: Uint8Array | undefined) => (g ? undefined : 'no grant') } : {}),
    });
    const result = run.then(
      (v: Connection) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    for (const piece of split(input, at)) theirs.write(piece);
    theirs.end();
    const got = await within(result, 5_000, 'the client half to settle');
    assert.ok(!got.ok, 'no input can succeed');
    assertTyped(
      got.e,
      ['HANDSHAKE_FAILED', 'CONNECTION_LOST', 'UNAUTHENTICATED', 'CONNECTION_LIMIT'],
      'client half',
    );
  } finally {
    mine.destroy();
    theirs.destroy();
  }
}

describe('fuzz: in-band handshake halves', () => {
  it('the server half fails exactly as the document predicts and writes only what it says', async (t) => {
    await runFuzz(
      t,
      'inband server',
      fc.asyncProperty(
        fuzzInput(clientSeeds, { maxSeeds: 3, maxRandom: 96 }),
        cuts(),
        fc.constantFrom(undefined, 1, 7),
        fc.boolean(),
        serverHalf,
      ),
      200,
    );
    assert.equal(trap.caught.length, 0);
  });

  it('the client half never succeeds on a forged answer and fails typed', async (t) => {
    await runFuzz(
      t,
      'inband client',
      fc.asyncProperty(
        fuzzInput(serverSeeds, { maxSeeds: 2, maxRandom: 160 }),
        cuts(),
        fc.constantFrom(undefined, 1, 7),
        fc.boolean(),
        clientHalf,
      ),
      200,
    );
    assert.equal(trap.caught.length, 0);
  });
});

describe('fuzz: a WebSocket listener', () => {
  let listener: WebSocketListener;
  const connections: Connection[] = [];
  const refused = refusals();
  before(async () => {
    listener = await listenWebSocket(
      {
        identity: server,
        authorizedKeys: keys,
        handshakeTimeoutMs: 3_000,
        rejectLingerMs: 100,
        maxHandshakesPerAddress: 0,
        onRefused: refused.onRefused,
      },
      (c) => connections.push(c),
    );
  });
  after(() => listener.close({ destroyConnections: true }));

  it('hands nothing over to damaged handshakes and refuses each typed', async (t) => {
    await runFuzz(
      t,
      'inband listener (WebSocket)',
      fc.asyncProperty(fuzzInput(clientSeeds, { maxSeeds: 3, maxRandom: 96 }), cuts(), async (input, at) => {
        const before = refused.events.length;
        const ws = new WebSocket(listener.url);
        ws.on('error', () => {});
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('close', reject);
        });
        for (const piece of split(input, at)) ws.send(piece, { binary: true });
        // Hang up after the bytes (a close frame: the server reads what came before it).
        ws.close();
        await until(() => refused.events.length > before, 5_000, 'the listener to refuse');
        assert.equal(connections.length, 0, 'nothing handed over');
        const event = refused.events.at(-1)!;
        assertTyped(event.error, ['HANDSHAKE_FAILED', 'CONNECTION_LOST', 'UNAUTHENTICATED'], 'refusal');
        assert.ok(['PRELUDE_FAILED', 'CLOSED', 'BAD_CERTIFICATE'].includes(event.reason), event.reason);
        await until(() => listener.handshakes === 0, 5_000, 'the listener to be idle');
      }),
      30,
      0.02,
    );
    await healthyEcho();
    assert.equal(trap.caught.length, 0);
  });
});
