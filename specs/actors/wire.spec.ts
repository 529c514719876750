/**
 * The call messages (docs/PROTOCOL.md section 5): their validation, and their bytes. The vectors are
 * checked against real traffic: a client system calls a server system over an in-memory connection,
 * and the bytes each side writes must contain each vector's record exactly.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastValueFrom, type Observable, of, toArray } from 'rxjs';
import { ActorSystem, actor, callContext, isRpcError, RpcError } from '../../src/actors/index.js';
import { parseCall, parseShape } from '../../src/actors/wire.js';
import { ChannelSession, Receiver, Sender } from '../../src/transport/channel/index.js';
import { memoryConnectionPair } from '../../src/transport/connection/index.js';
import { isTransportError } from '../../src/transport/errors.js';
import { Session } from '../../src/transport/mux/index.js';
import { hex, vector } from '../support/vectors.js';
import { WireTap } from '../transport/mux/wire-tap.js';

const invalid = (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT');

describe('parseCall', () => {
  it('accepts a well-formed call stream record and reads its fields', () => {
    const call = parseCall({ n: 'calculator', m: 'add', a: [1, 2], t: 250, h: { id: 'x' } }, false);
    assert.equal(call.actor, 'calculator');
    assert.equal(call.method, 'add');
    assert.deepEqual(call.args, [1, 2]);
    assert.equal(call.timeoutMs, 250);
    assert.deepEqual({ ...call.metadata }, { id: 'x' });
    assert.equal(call.reply, undefined);
  });

  it('reads the key of a keyed call (k) on a call stream', () => {
    assert.equal(parseCall({ n: 'counter', m: 'increment', a: [1], k: 'user-42' }, false).key, 'user-42');
    assert.equal(parseCall({ n: 'counter', m: 'increment', a: [1] }, false).key, undefined);
  });

  it('accepts a well-formed call on a nested channel (with r, without n)', () => {
    const r = new Sender();
    const call = parseCall({ m: '', a: [], r }, true);
    assert.equal(call.reply, r);
    assert.equal(call.actor, undefined);
  });

  it('rejects malformed calls with INVALID_ARGUMENT', () => {
    const r = new Sender();
    const top: unknown[] = [
      null,
      [1, 2],
      { m: 'add', a: [] },
      { n: '', m: 'add', a: [] },
      { n: 'x'.repeat(257), m: 'add', a: [] },
      { n: 'calc', m: 1, a: [] },
      { n: 'calc', m: 'add', a: {} },
      { n: 'calc', m: 'add', a: [], r },
      { n: 'calc', m: 'add', a: [], t: 0 },
      { n: 'calc', m: 'add', a: [], t: 1.5 },
      { n: 'calc', m: 'add', a: [], t: 2 ** 31 },
      { n: 'calc', m: 'add', a: [], h: [] },
      { n: 'calc', m: 'add', a: [], h: { k: 1 } },
      {
        n: 'calc',
        m: 'add',
        a: [],
        h: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, ''])),
      },
      JSON.parse('{"__proto__": {"n": "calc", "m": "add", "a": []}}'),
      { n: 'calc', m: 'add', a: [], k: '' },
      { n: 'calc', m: 'add', a: [], k: 'x'.repeat(257) },
      { n: 'calc', m: 'add', a: [], k: 42 },
    ];
    for (const message of top)
      assert.throws(() => parseCall(message, false), invalid, JSON.stringify(message));
    const nested: unknown[] = [
      { m: '', a: [] },
      { m: '', a: [], r: new Receiver() },
      { n: 'calc', m: '', a: [], r },
      { m: '', a: [], r, k: 'user-42' },
    ];
    for (const message of nested) assert.throws(() => parseCall(message, true), invalid);
  });
});

describe('parseShape', () => {
  it('reads a value, undefined, or a stream with its demand channel', () => {
    assert.deepEqual(parseShape({ v: 3 }), { kind: 'value', value: 3 });
    assert.deepEqual(parseShape({}), { kind: 'value', value: undefined });
    const demand = new Sender();
    assert.deepEqual(parseShape({ s: demand }), { kind: 'stream', demand });
    for (const bad of [null, 3, [1], { s: 1 }]) {
      assert.throws(
        () => parseShape(bad),
        (e) => isRpcError(e, 'INTERNAL'),
      );
    }
  });
});

@actor('calculator')
class Calculator {
  add(a: number, b: number): number {
    return a + b;
  }
  async count(...streams: Observable<unknown>[]): Promise<number> {
    let n = 0;
    for (const s of streams) n += (await lastValueFrom(s.pipe(toArray()))).length;
    return n;
  }
  ticks(n: number): Observable<string> {
    return of(...Array.from({ length: n }, (_, i) => `item ${i}`));
  }
  reserve(sku: string): never {
    throw new RpcError('FAILED_PRECONDITION', 'out of stock', { reason: 'OUT_OF_STOCK', details: { sku } });
  }
}

@actor('counter', { keyed: true })
class Counter {
  private n = 0;
  increment(by: number): string {
    this.n += by;
    return `${callContext().key}:${this.n}`;
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

describe('call record vectors', () => {
  it('a unary call and its reply are the bytes of the vectors', async () => {
    const { client, server, wrote } = await tapped();
    const calc = client.ref<Calculator>('calculator', { host: 'memory', port: 1 });
    assert.equal(await calc.add(1, 2), 3);
    assertContains(wrote.client!, 'actors.call-unary');
    assertContains(wrote.server!, 'actors.reply-value');
    await client.close();
    await server.close();
  });

  it('a stream call, its shape and its items, and an unknown actor are the bytes of the vectors', async () => {
    const { client, server, wrote } = await tapped();
    const calc = client.ref<Calculator>('calculator', { host: 'memory', port: 1 });
    assert.deepEqual(await lastValueFrom(calc.ticks(2).pipe(toArray())), ['item 0', 'item 1']);
    assertContains(wrote.client!, 'actors.call-stream');
    assertContains(wrote.server!, 'actors.reply-stream');
    assertContains(wrote.server!, 'actors.stream-item');
    await assert.rejects(client.ref<Calculator>('nobody', { host: 'memory', port: 1 }).add(1, 2), (e) =>
      isRpcError(e, 'NOT_FOUND'),
    );
    assertContains(wrote.server!, 'actors.reply-error');
    await client.close();
    await server.close();
  });

  it('a keyed call carries its key in k: the bytes of the vector', async () => {
    const { client, server, wrote } = await tapped();
    await server.register(Counter);
    const counter = client.ref<Counter>('counter', 'user-42', { peer: { host: 'memory', port: 1 } });
    assert.equal(await counter.increment(1), 'user-42:1');
    assertContains(wrote.client!, 'actors.call-keyed');
    await client.close();
    await server.close();
  });

  it("a domain error's ERROR record, with its envelope (details, reason), is the bytes of the vector", async () => {
    const { client, server, wrote } = await tapped();
    const calc = client.ref<Calculator>('calculator', { host: 'memory', port: 1 });
    await assert.rejects(calc.reserve('A-1'), (e) => isRpcError(e, 'FAILED_PRECONDITION'));
    assertContains(wrote.server!, 'actors.reply-error-envelope');
    await client.close();
    await server.close();
  });
});

describe('frames of a unary call', () => {
  it('is one Data frame each way: SYN|FIN with the preface and the CALL, ACK|FIN with the reply (issue 10 #8)', async () => {
    const server = new ActorSystem();
    await server.register(Calculator);
    const [c, s] = memoryConnectionPair();
    const toServer = new WireTap(s.socket);
    const toClient = new WireTap(c.socket);
    const client = new ActorSystem({ dial: async () => c });
    server.serve(s);
    const calc = client.ref<Calculator>('calculator', { host: 'memory', port: 1 });
    assert.equal(await calc.add(1, 2), 3);
    assert.deepEqual(toServer.describe(), ['Data SYN|FIN 31 #1']);
    assert.deepEqual(toClient.describe(), ['Data ACK|FIN 9 #1']);
    for (let i = 0; i < 5; i++) {
      const [up, down] = [toServer.frames.length, toClient.frames.length];
      assert.equal(await calc.add(i, 1), i + 1);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(toServer.since(up).length + toClient.since(down).length, 2, `call ${i}: two frames`);
    }
    await client.close();
    await server.close();
  });

  it('the first call on a connection is the bytes of the frame vectors', async () => {
    const { client, server, wrote } = await tapped();
    const calc = client.ref<Calculator>('calculator', { host: 'memory', port: 1 });
    assert.equal(await calc.add(1, 2), 3);
    assertContains(wrote.client!, 'actors.frame-call');
    assertContains(wrote.server!, 'actors.frame-reply');
    await client.close();
    await server.close();
  });
});

describe('a peer that breaks the call format', () => {
  it('gets an ERROR record on that call stream only, and the connection goes on', async () => {
    const server = new ActorSystem();
    await server.register(Calculator);
    const [c, s] = memoryConnectionPair();
    server.serve(s);
    const channels = new ChannelSession(new Session(c.socket, 'client'));
    const ask = async (record: unknown, end = true) => {
      const call = channels.openDuplex<unknown, unknown>();
      call.sender.write(record);
      if (end) call.sender.close();
      return lastValueFrom(call.receiver.pipe(toArray()));
    };
    const remote = (code: string) => (e: unknown) =>
      isTransportError(e, 'CHANNEL_ERROR') && e.remoteCode === code;
    await assert.rejects(ask({ n: 'calculator', m: 'add', a: 'not an array' }), remote('INVALID_ARGUMENT'));
    await assert.rejects(ask('a call must be a map'), remote('INVALID_ARGUMENT'));
    // A stream that ends without a record is answered too.
    const empty = channels.openDuplex<unknown, unknown>();
    empty.sender.close();
    await assert.rejects(lastValueFrom(empty.receiver), remote('INVALID_ARGUMENT'));
    assert.deepEqual(await ask({ n: 'calculator', m: 'add', a: [2, 3] }), [{ v: 5 }]);
    assert.deepEqual(await ask({ n: 'calculator', m: 'add', a: [1, 1], zzz: 'unknown keys are ignored' }), [
      { v: 2 },
    ]);
    channels.destroy();
    await server.close();
  });

  it('a CALL naming a stream beyond maxUnclaimedStreams fails alone, answered INVALID_ARGUMENT (PROTOCOL 4.3)', async () => {
    const server = new ActorSystem({ channel: { maxUnclaimedStreams: 2 } });
    await server.register(Calculator);
    const [c, s] = memoryConnectionPair();
    server.serve(s);
    const channels = new ChannelSession(new Session(c.socket, 'client'));
    const call = (streams: number) => {
      const ends = Array.from({ length: streams }, () => new Sender<number>());
      const duplex = channels.openDuplex<unknown, unknown>();
      // One record naming `streams` new streams: their SYNs all go ahead of it.
      duplex.sender.write({ n: 'calculator', m: 'count', a: ends });
      duplex.sender.close();
      for (const end of ends) {
        end.write(1);
        end.close();
      }
      return lastValueFrom(duplex.receiver.pipe(toArray()));
    };
    const remote = (code: string) => (e: unknown) =>
      isTransportError(e, 'CHANNEL_ERROR') && e.remoteCode === code;
    // The third stream is reset on arrival (over the limit), so the record names a stream the server
    // does not have: BAD_REFERENCE, for that call only.
    await assert.rejects(call(3), remote('INVALID_ARGUMENT'));
    assert.deepEqual(await call(2), [{ v: 2 }], 'the next call on the connection is served');
    channels.destroy();
    await server.close();
  });
});
