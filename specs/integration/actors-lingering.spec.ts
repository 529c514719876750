/**
 * The reply channel of a call whose deadline passed on the caller (docs/ERRORS.md 6.6): it is left to the
 * callee's own deadline for DEADLINE_GRACE_MS, then reset; at most MAX_LINGERING wait so per connection,
 * and beyond that the next is reset at once.
 *
 * The callee here is a raw channel session behind a real TLS listener that reads each CALL and never
 * answers (so no timer of its own ends the call): what it sees is when, and how, the caller gives each
 * call up.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActorSystem, isRpcError } from '../../src/actors/index.js';
import { DEADLINE_GRACE_MS, MAX_LINGERING } from '../../src/actors/link.js';
import { Identity } from '../../src/auth/index.js';
import { ChannelSession, type DuplexEnds } from '../../src/transport/channel/index.js';
import { type Listener, listenTls } from '../../src/transport/connection/index.js';
import { isTransportError, type TransportError } from '../../src/transport/errors.js';
import { Session } from '../../src/transport/mux/index.js';
import { eventually } from './actors-pair.js';

/** One call as the silent callee saw it. */
interface Seen {
  readonly arrived: number;
  /** When the caller reset the call stream (undefined: still open). */
  resetAt?: number;
  error?: TransportError | undefined;
}

interface Silent {
  readonly listener: Listener;
  readonly calls: Seen[];
  close(): Promise<void>;
}

/** A TLS listener whose connections take every call stream and never answer it. */
async function silentCallee(serverId: Identity, clientId: Identity): Promise<Silent> {
  const calls: Seen[] = [];
  const sessions: ChannelSession[] = [];
  const listener = await listenTls(
    { identity: serverId, authorizedKeys: [{ key: clientId.id, name: 'alice' }] },
    (connection) => {
      const channels = new ChannelSession(
        new Session(connection.socket, 'server', { keepAliveIntervalMs: 0 }),
      );
      sessions.push(channels);
      channels.onDuplex = ({ sender, receiver }: DuplexEnds) => {
        const seen: Seen = { arrived: Date.now() };
        calls.push(seen);
        receiver.subscribe({ error: () => {} }); // read the CALL record; never reply
        sender.onClosed((err) => {
          seen.resetAt = Date.now();
          seen.error = err;
        });
      };
    },
  );
  return {
    listener,
    calls,
    async close() {
      for (const s of sessions) s.destroy();
      await listener.close();
    },
  };
}

const serverId = Identity.generate();
const clientId = Identity.generate();
let callee: Silent;
let client: ActorSystem;

before(async () => {
  callee = await silentCallee(serverId, clientId);
  client = new ActorSystem({ identity: clientId, config: { closeTimeoutMs: 100 } });
});

after(async () => {
  await client.close();
  await callee.close();
});

interface Mute {
  wait(): Promise<void>;
}

const reset = (s: Seen) =>
  isTransportError(s.error, 'CHANNEL_CANCELLED') || isTransportError(s.error, 'STREAM_RESET');

describe('actors over TLS: reply channels left to the callee after the caller’s deadline', () => {
  it(`MAX_LINGERING: ${MAX_LINGERING} wait DEADLINE_GRACE_MS (${DEADLINE_GRACE_MS} ms), the next is reset at once`, async () => {
    const mute = client.ref<Mute>('mute', {
      host: '127.0.0.1',
      port: callee.listener.port,
      key: serverId.id,
    });
    // Connect first, with a call given up by its signal (reset at once: it does not linger).
    const ac = new AbortController();
    const warmUp = mute.withOptions({ signal: ac.signal }).wait();
    await eventually(() => callee.calls.length === 1, 'the first call to arrive');
    ac.abort();
    await assert.rejects(warmUp, (e) => isRpcError(e, 'CANCELLED'));
    await eventually(() => callee.calls[0]!.resetAt !== undefined, 'the cancelled call to be reset');
    const deadline = 100;
    // MAX_LINGERING calls expire together: each caller fails at once, its reply channel lingers.
    const startedAt = Date.now();
    const first = Array.from({ length: MAX_LINGERING }, () =>
      mute.withOptions({ timeoutMs: deadline }).wait(),
    );
    const outcomes = await Promise.allSettled(first);
    for (const o of outcomes) {
      assert.ok(o.status === 'rejected' && isRpcError(o.reason, 'DEADLINE_EXCEEDED'), String(o));
    }
    assert.equal(callee.calls.length, 1 + MAX_LINGERING, 'every call reached the callee');
    // One more expires while they linger: no room, so its channel is reset as its deadline passes.
    const extra = mute.withOptions({ timeoutMs: deadline }).wait();
    await assert.rejects(extra, (e) => isRpcError(e, 'DEADLINE_EXCEEDED'));
    const extraExpiredAt = Date.now();
    await eventually(() => callee.calls.length === MAX_LINGERING + 2, 'the extra call to arrive');
    const last = callee.calls[1 + MAX_LINGERING]!;
    await eventually(() => last.resetAt !== undefined, 'the extra call to be reset', DEADLINE_GRACE_MS / 2);
    assert.ok(reset(last), String(last.error));
    assert.ok(last.resetAt! - extraExpiredAt < DEADLINE_GRACE_MS / 2, 'reset at once, not after the grace');
    const lingering = callee.calls.slice(1, 1 + MAX_LINGERING);
    assert.equal(
      lingering.filter((s) => s.resetAt !== undefined).length,
      0,
      'the lingering ones are still open when the extra one is reset',
    );
    // The grace ends: every lingering channel is reset, DEADLINE_GRACE_MS after its deadline.
    await eventually(
      () => lingering.every((s) => s.resetAt !== undefined),
      'the lingering calls to be reset',
      DEADLINE_GRACE_MS + 3000,
    );
    for (const s of lingering) {
      assert.ok(reset(s), String(s.error));
      // Its deadline was at least startedAt + deadline; timers may fire a millisecond early.
      const late = s.resetAt! - (startedAt + deadline);
      assert.ok(late >= DEADLINE_GRACE_MS - 5, `reset ${late} ms after the deadline, within the grace`);
    }
    // The room is free again: the next expired call lingers instead of being reset at once.
    await assert.rejects(mute.withOptions({ timeoutMs: deadline }).wait(), (e) =>
      isRpcError(e, 'DEADLINE_EXCEEDED'),
    );
    await sleep(100);
    const again = callee.calls[2 + MAX_LINGERING]!;
    assert.equal(again.resetAt, undefined, 'lingers once the earlier ones are gone');
    assert.equal(client.stats().pendingCalls, 0);
  });
});
