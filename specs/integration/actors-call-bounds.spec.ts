/**
 * The bounds of a CALL record (docs/ERRORS.md 6.6, PROTOCOL.md section 5), reached over real TLS: an
 * actor name of 1 to 256 characters (`register` / `@actor` throw INVALID_CONFIG beyond; a CALL whose `n`
 * is longer is answered INVALID_ARGUMENT), metadata of at most 64 entries of at most 4096 characters per
 * key or value, and a deadline `t` of at most MAX_TIMEOUT_MS. At each bound the call goes through; one
 * beyond it is answered INVALID_ARGUMENT without reaching the actor, and the connection goes on.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import { actor, callContext, isRpcError } from '../../src/actors/index.js';
import {
  MAX_ACTOR_NAME,
  MAX_METADATA_ENTRIES,
  MAX_METADATA_TEXT,
  MAX_TIMEOUT_MS,
} from '../../src/actors/wire.js';
import { ChannelSession } from '../../src/transport/channel/index.js';
import { dialTls } from '../../src/transport/connection/index.js';
import { isTransportError } from '../../src/transport/errors.js';
import { Session } from '../../src/transport/mux/index.js';
import { type Pair, pair } from './actors-pair.js';

/** Calls that reached an actor. */
let reached = 0;

class Bounds {
  metadata(): Record<string, string> {
    reached++;
    return { ...callContext().metadata };
  }
  deadline(): boolean {
    reached++;
    return callContext().deadline !== undefined;
  }
}

const longest = 'a'.repeat(MAX_ACTOR_NAME);
const tooLong = 'a'.repeat(MAX_ACTOR_NAME + 1);
const invalidArgument = (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT');
const invalidConfig = (e: unknown) => isTransportError(e, 'INVALID_CONFIG');

let p: Pair;
before(async () => {
  p = await pair();
  await p.server.register(longest, Bounds);
});
after(() => p.close());

describe('actors over TLS: the bounds of a CALL record', () => {
  it(`actor name: ${MAX_ACTOR_NAME} characters are served; ${MAX_ACTOR_NAME + 1} are INVALID_CONFIG locally, INVALID_ARGUMENT on the wire`, async () => {
    assert.throws(() => p.server.register(tooLong, Bounds), invalidConfig);
    assert.throws(() => actor(tooLong), invalidConfig);
    assert.throws(() => p.server.register('', Bounds), invalidConfig);
    assert.deepEqual(await p.client.ref<Bounds>(longest, p.peer).metadata(), {});
    const before = reached;
    // Not NOT_FOUND: the callee refuses the record before it looks the name up.
    await assert.rejects(p.client.ref<Bounds>(tooLong, p.peer).metadata(), invalidArgument);
    assert.equal(reached, before, 'the refused call reached no actor');
    assert.deepEqual(await p.client.ref<Bounds>(longest, p.peer).metadata(), {}, 'the connection goes on');
  });

  it(`CALL metadata h: ${MAX_METADATA_ENTRIES} entries of ${MAX_METADATA_TEXT} characters arrive; one more entry or character is INVALID_ARGUMENT`, async () => {
    const ref = p.client.ref<Bounds>(longest, p.peer);
    const call = (metadata: Record<string, string>) => ref.withOptions({ metadata }).metadata();
    const full = Object.fromEntries(
      Array.from({ length: MAX_METADATA_ENTRIES }, (_, i) => [
        `${i}`.padStart(MAX_METADATA_TEXT, 'k'),
        `${i}`.padStart(MAX_METADATA_TEXT, 'v'),
      ]),
    );
    assert.deepEqual(await call(full), full);
    const before = reached;
    await assert.rejects(call({ ...full, extra: '' }), invalidArgument);
    await assert.rejects(call({ key: 'v'.repeat(MAX_METADATA_TEXT + 1) }), invalidArgument);
    await assert.rejects(call({ ['k'.repeat(MAX_METADATA_TEXT + 1)]: 'value' }), invalidArgument);
    assert.equal(reached, before, 'the refused calls reached no actor');
    assert.deepEqual(await call({ id: 'still served' }), { id: 'still served' });
  });

  it(`MAX_TIMEOUT_MS: a CALL whose t is ${MAX_TIMEOUT_MS} is served; one ms more is INVALID_ARGUMENT`, async () => {
    // A raw client: the caller's own API never writes a t above the bound.
    const connection = await dialTls({
      identity: p.clientId,
      host: p.peer.host,
      port: p.peer.port,
      serverKey: p.serverId.id,
      session: false,
    });
    const channels = new ChannelSession(new Session(connection.socket, 'client', { keepAliveIntervalMs: 0 }));
    try {
      const ask = (t: number) => {
        const stream = channels.openDuplex<unknown, unknown>();
        stream.sender.write({ n: longest, m: 'deadline', a: [], t });
        stream.sender.close();
        return lastValueFrom(stream.receiver.pipe(toArray()));
      };
      assert.deepEqual(await ask(MAX_TIMEOUT_MS), [{ v: true }]);
      const before = reached;
      await assert.rejects(
        ask(MAX_TIMEOUT_MS + 1),
        (e) => isTransportError(e, 'CHANNEL_ERROR') && e.remoteCode === 'INVALID_ARGUMENT',
      );
      assert.equal(reached, before, 'the refused call reached no actor');
      assert.deepEqual(await ask(1_000), [{ v: true }], 'the connection goes on');
    } finally {
      channels.destroy();
    }
  });
});
