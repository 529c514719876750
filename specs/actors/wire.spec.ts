/**
 * The call messages (docs/PROTOCOL.md section 5): their validation, and their bytes. The vectors are
 * checked against real traffic: a client system calls a server system over an in-memory connection,
 * and the bytes each side writes must contain each vector's record exactly.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastValueFrom, type Observable, of, toArray } from 'rxjs';
import { ActorSystem, actor, isRpcError } from '../../src/actors/index.js';
import { ArgKind, parseCall, parseOpen } from '../../src/actors/wire.js';
import { ChannelSession, Receiver, Sender } from '../../src/transport/channel/index.js';
import { memoryConnectionPair } from '../../src/transport/connection/index.js';
import { isTransportError } from '../../src/transport/errors.js';
import { Session } from '../../src/transport/mux/index.js';
import { hex, vector } from '../support/vectors.js';

const invalid = (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT');

describe('parseCall', () => {
  it('accepts a well-formed call and reads its fields', () => {
    const r = new Sender();
    const stream = new Receiver();
    const call = parseCall({ m: 'add', a: [1, stream], r, s: 1, t: 250, x: [ArgKind.VALUE, ArgKind.STREAM] });
    assert.equal(call.method, 'add');
    assert.equal(call.reply, r);
    assert.equal(call.stream, true);
    assert.equal(call.timeoutMs, 250);
    assert.deepEqual(call.kinds, [0, 1]);
  });

  it('rejects malformed calls with INVALID_ARGUMENT', () => {
    const r = new Sender();
    const bad: unknown[] = [
      null,
      [1, 2],
      { m: 'add', a: [] },
      { m: 1, a: [], r },
      { m: 'add', a: {}, r },
      { m: 'add', a: [], r, s: true },
      { m: 'add', a: [], r, t: 0 },
      { m: 'add', a: [], r, t: 1.5 },
      { m: 'add', a: [], r, t: 2 ** 31 },
      { m: 'add', a: [1], r, x: [] },
      { m: 'add', a: [1], r, x: [7] },
      { m: 'add', a: [1], r, x: [ArgKind.STREAM] },
      { m: 'add', a: [new Receiver()], r, x: [ArgKind.CALLBACK] },
    ];
    for (const message of bad) assert.throws(() => parseCall(message), invalid, JSON.stringify(message));
    assert.equal(parseOpen({ n: 'calculator' }), 'calculator');
    assert.throws(() => parseOpen({ n: '' }), invalid);
    assert.throws(() => parseOpen({ name: 'x' }), invalid);
  });
});

@actor('calculator')
class Calculator {
  add(a: number, b: number): number {
    return a + b;
  }
  ticks(n: number): Observable<string> {
    return of(...Array.from({ length: n }, (_, i) => `item ${i}`));
  }
}

/** A client and a server system over an in-memory connection, recording what each side writes. */
async function tapped(): Promise<{
  client: ActorSystem;
  server: ActorSystem;
  wrote: Record<string, Buffer[]>;
}> {
  const wrote: Record<string, Buffer[]> = { client: [], server: [] };
  const server = new ActorSystem();
  await server.register(Calculator);
  const client = new ActorSystem({
    dial: async () => {
      const [c, s] = memoryConnectionPair();
      for (const [side, conn] of [
        ['client', c],
        ['server', s],
      ] as const) {
        const write = conn.socket.write.bind(conn.socket) as (chunk: Buffer) => boolean;
        conn.socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
          wrote[side]!.push(Buffer.from(chunk));
          return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
        }) as typeof conn.socket.write;
      }
      server.serve(s);
      return c;
    },
  });
  return { client, server, wrote };
}

function assertContains(chunks: Buffer[], name: string): void {
  const bytes = vector(name);
  const all = Buffer.concat(chunks);
  assert.ok(all.indexOf(Buffer.from(bytes)) >= 0, `${name} (${hex(bytes)}) not found in ${hex(all)}`);
}

describe('call message vectors', () => {
  it('a unary call, its mailbox open and its reply are the bytes of the vectors', async () => {
    const { client, server, wrote } = await tapped();
    const calc = client.ref<Calculator>('calculator', { host: 'memory', port: 1 });
    assert.equal(await calc.add(1, 2), 3);
    assertContains(wrote.client!, 'actors.open');
    assertContains(wrote.client!, 'actors.call-unary');
    assertContains(wrote.server!, 'actors.reply-value');
    await client.close();
    await server.close();
  });

  it('a stream call and an unknown actor are the bytes of the vectors', async () => {
    const { client, server, wrote } = await tapped();
    const calc = client.ref<Calculator>('calculator', { host: 'memory', port: 1 });
    assert.deepEqual(await lastValueFrom(calc.ticks(2).pipe(toArray())), ['item 0', 'item 1']);
    assertContains(wrote.client!, 'actors.call-stream');
    assertContains(wrote.server!, 'actors.stream-item');
    await assert.rejects(client.ref<Calculator>('nobody', { host: 'memory', port: 1 }).add(1, 2), (e) =>
      isRpcError(e, 'NOT_FOUND'),
    );
    assertContains(wrote.server!, 'actors.reply-error');
    await client.close();
    await server.close();
  });
});

describe('a peer that breaks the call format', () => {
  it('gets INVALID_ARGUMENT for that call, a cancelled channel for a bad OPEN, and the connection goes on', async () => {
    const server = new ActorSystem();
    await server.register(Calculator);
    const [c, s] = memoryConnectionPair();
    server.serve(s);
    const channels = new ChannelSession(new Session(c.socket, 'client'));
    const mailbox = channels.open<unknown>();
    await mailbox.send({ n: 'calculator' });
    const reply = new Receiver<unknown>();
    await mailbox.send({ m: 'add', a: 'not an array', r: reply });
    await assert.rejects(
      lastValueFrom(reply),
      (e) => isTransportError(e, 'CHANNEL_ERROR') && e.remoteCode === 'INVALID_ARGUMENT',
    );
    const good = new Receiver<unknown>();
    await mailbox.send({ m: 'add', a: [2, 3], r: good });
    assert.deepEqual(await lastValueFrom(good), { v: 5 });

    const bad = channels.open<unknown>();
    await bad.send({ hello: 'there' });
    assert.ok(
      isTransportError(await bad.closed, 'CHANNEL_CANCELLED'),
      'a mailbox without an OPEN is cancelled',
    );
    const again = new Receiver<unknown>();
    await mailbox.send({ m: 'add', a: [1, 1], r: again });
    assert.deepEqual(await lastValueFrom(again), { v: 2 });
    mailbox.close();
    channels.destroy();
    await server.close();
  });
});
