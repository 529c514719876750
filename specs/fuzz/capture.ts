/**
 * Real traffic to start fuzzing from: the bytes both sides of a connection wrote while doing real work
 * (actor calls with a reply channel, a stream, a callback, a byte stream, an unknown actor; then a
 * graceful close), captured on an in-memory connection. Split into multiplexer frames and into the
 * payload of each channel stream, so fuzz cases can recombine and damage them.
 */
import 'reflect-metadata';
import { Readable } from 'node:stream';
import { interval, lastValueFrom, take, toArray } from 'rxjs';
import { ActorSystem, actor } from '../../src/actors/index.js';
import { memoryConnectionPair } from '../../src/transport/connection/index.js';
import { getUint32 } from '../../src/transport/mux/frame.js';
import { FrameType, HEADER_LENGTH } from '../../src/transport/mux/index.js';
import { concat } from './mutate.js';

/** What one direction of the connection carried. */
export interface Direction {
  /** Everything, in order. */
  readonly bytes: Uint8Array;
  /** The same bytes cut into whole multiplexer frames. */
  readonly frames: Uint8Array[];
  /** Per stream, the Data payload bytes joined (the preface byte included). */
  readonly streams: Uint8Array[];
}

export interface Capture {
  /** Written by the dialer (the yamux client, odd stream ids): what a server-role session reads. */
  readonly fromClient: Direction;
  /** Written by the listener (the yamux server, even ids): what a client-role session reads. */
  readonly fromServer: Direction;
}

@actor('capture')
class CaptureActor {
  add(a: number, b: number): number {
    return a + b;
  }
  ticks(n: number) {
    return interval(1).pipe(take(n));
  }
  async twice(f: (x: number) => Promise<number>): Promise<number> {
    return (await f(1)) + (await f(2));
  }
  async size(bytes: Readable): Promise<number> {
    let n = 0;
    for await (const c of bytes) n += (c as Buffer).length;
    return n;
  }
  fail(): never {
    throw new RangeError('on purpose');
  }
}

let cached: Promise<Capture> | undefined;

/** The capture (made once per process). */
export function capture(): Promise<Capture> {
  cached ??= record();
  return cached;
}

async function record(): Promise<Capture> {
  const [clientConn, serverConn] = memoryConnectionPair();
  const fromClient: Uint8Array[] = [];
  const fromServer: Uint8Array[] = [];
  serverConn.socket.on('data', (c: Buffer) => fromClient.push(Uint8Array.from(c)));
  clientConn.socket.on('data', (c: Buffer) => fromServer.push(Uint8Array.from(c)));
  const quiet = { onError: () => {}, config: { closeTimeoutMs: 500 } };
  const server = new ActorSystem(quiet);
  await server.register(CaptureActor);
  server.serve(serverConn);
  const client = new ActorSystem({ ...quiet, dial: async () => clientConn });
  const peer = { host: 'memory', port: 1 };
  const ref = client.ref<CaptureActor>('capture', peer);
  await ref.add(1, 2);
  await lastValueFrom(ref.ticks(3).pipe(toArray()));
  await ref.twice(async (x: number) => x * 10);
  await ref.size(Readable.from([Buffer.from('hello '), Buffer.from('bytes')]));
  await ref.fail().catch(() => {});
  await client
    .ref<CaptureActor>('nobody', peer)
    .add(1, 1)
    .catch(() => {});
  await client.close();
  await server.close();
  return { fromClient: direction(fromClient), fromServer: direction(fromServer) };
}

function direction(chunks: Uint8Array[]): Direction {
  const bytes = concat(chunks);
  const frames: Uint8Array[] = [];
  const perStream = new Map<number, Uint8Array[]>();
  let pos = 0;
  while (pos + HEADER_LENGTH <= bytes.length) {
    const type = bytes[pos + 1]!;
    const id = getUint32(bytes, pos + 4);
    const length = getUint32(bytes, pos + 8);
    const size = HEADER_LENGTH + (type === FrameType.Data ? length : 0);
    if (pos + size > bytes.length) break;
    frames.push(bytes.slice(pos, pos + size));
    if (type === FrameType.Data && length > 0) {
      const list = perStream.get(id) ?? [];
      list.push(bytes.slice(pos + HEADER_LENGTH, pos + size));
      perStream.set(id, list);
    }
    pos += size;
  }
  const streams = [...perStream.values()].map(concat);
  return { bytes, frames, streams };
}
