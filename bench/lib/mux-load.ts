/**
 * Client-side load generators of the mux benchmark, one per (measure × transport), all against the child peer
 * of ./mux-peer.ts. Raw TCP and mux drivers do the same work the same way (same chunk, same backpressure rule,
 * same in-flight count), so their ratio measures the multiplexer alone.
 *
 * Every driver is bounded in time: it rejects after its deadline instead of hanging the benchmark.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Session, type Stream } from '../../src/transport/mux/index.js';
import { deadline, GRACE_MS } from './load.js';
import { benchMuxConfig } from './mux-config.js';
import { decodeCount } from './mux-wire.js';
import { nowMs } from './stats.js';
import { connect } from './tcp.js';

const MiB = 1024 * 1024;

function checkCount(got: number, want: number): void {
  if (got !== want) throw new Error(`receiver counted ${got} bytes, sender sent ${want}`);
}

/** Throughput in MiB/s of `total` bytes sent as `chunk`-sized writes on one raw TCP connection to a sink. */
export async function throughputRaw(
  port: number,
  total: number,
  chunk: Buffer,
  limitMs: number,
): Promise<number> {
  const socket = await connect(port, true);
  try {
    const answer = readUntilEnd(socket);
    const start = nowMs();
    const run = async (): Promise<number> => {
      for (let sent = 0; sent < total; sent += chunk.length) {
        const piece = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
        if (!socket.write(piece)) await once(socket, 'drain');
      }
      socket.end();
      checkCount(decodeCount(await answer), total);
      return nowMs() - start;
    };
    const ms = await deadline(run(), limitMs, 'raw TCP throughput');
    return total / MiB / (ms / 1000);
  } finally {
    socket.destroy();
  }
}

function readUntilEnd(socket: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  socket.on('data', (b: Buffer) => parts.push(b));
  return once(socket, 'end').then(() => Buffer.concat(parts));
}

/** Throughput in MiB/s of `total` bytes sent as `chunk`-sized writes on one stream of a fresh mux session. */
export async function throughputMux(
  port: number,
  total: number,
  chunk: Buffer,
  limitMs: number,
): Promise<number> {
  const session = new Session(await connect(port), 'client', benchMuxConfig());
  try {
    const start = nowMs();
    const run = async (): Promise<number> => {
      const stream = session.open();
      const answer = streamUntilEnd(stream);
      for (let sent = 0; sent < total; sent += chunk.length) {
        const piece = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
        if (!stream.write(piece)) await stream.drained();
      }
      stream.end();
      checkCount(decodeCount(await answer), total);
      return nowMs() - start;
    };
    const ms = await deadline(run(), limitMs, 'mux throughput');
    return total / MiB / (ms / 1000);
  } finally {
    await session.close();
  }
}

function streamUntilEnd(stream: Stream): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    stream.listen({
      onData: (c) => parts.push(c),
      onEnd: () => resolve(Buffer.concat(parts)),
      onClose: (err) => (err ? reject(err) : resolve(Buffer.concat(parts))),
    });
  });
}

/**
 * Counts completed round trips of fixed-size echoed messages and decides when to stop issuing new ones.
 * The window is closed by a timer, not by reading the clock per completion: that would cost the mux side
 * (one call per stream per batch) far more than the raw side (one call per socket read).
 */
class RoundTrips {
  completed = 0;
  private readonly start = nowMs();
  private stoppedAt = 0;
  private completedAtStop = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(durationMs: number) {
    this.timer = setTimeout(() => {
      this.stoppedAt = nowMs();
      this.completedAtStop = this.completed;
    }, durationMs);
  }

  /** Record `n` completions; true while new requests should still be issued. */
  complete(n: number): boolean {
    this.completed += n;
    return this.stoppedAt === 0;
  }

  /** Round trips per second over the issuing window. */
  rate(): number {
    return this.completedAtStop / ((this.stoppedAt - this.start) / 1000);
  }

  /** Stop the timer (after a failure). */
  dispose(): void {
    clearTimeout(this.timer);
  }
}

/**
 * Round trips per second of `size`-byte messages echoed over one raw TCP connection, `concurrency` requests
 * pipelined: every completed echo issues the next request. Writes issued in one 'data' event are corked
 * into one syscall, as the multiplexer coalesces the frames of one tick.
 */
export async function roundTripsRaw(
  port: number,
  concurrency: number,
  size: number,
  durationMs: number,
): Promise<number> {
  const socket = await connect(port);
  const msg = Buffer.alloc(size, 0x5a);
  const trips = new RoundTrips(durationMs);
  try {
    const run = new Promise<number>((resolve, reject) => {
      let inFlight = 0;
      let partial = 0;
      const issue = (n: number): void => {
        socket.cork();
        for (let i = 0; i < n; i++) socket.write(msg);
        socket.uncork();
        inFlight += n;
      };
      socket.on('error', reject);
      socket.on('data', (b: Buffer) => {
        partial += b.length;
        const done = Math.floor(partial / size);
        partial -= done * size;
        inFlight -= done;
        if (trips.complete(done)) issue(done);
        else if (inFlight === 0) resolve(trips.rate());
      });
      issue(concurrency);
    });
    return await deadline(run, durationMs + GRACE_MS, 'raw TCP round trips');
  } finally {
    trips.dispose();
    socket.destroy();
  }
}

/**
 * Round trips per second of `size`-byte messages echoed on `concurrency` streams of one mux session, one
 * request in flight per stream: every completed echo issues the next request on that stream.
 */
export async function roundTripsMux(
  port: number,
  concurrency: number,
  size: number,
  durationMs: number,
): Promise<number> {
  const session = new Session(await connect(port), 'client', benchMuxConfig());
  const msg = Buffer.alloc(size, 0x5a);
  const trips = new RoundTrips(durationMs);
  try {
    const run = new Promise<number>((resolve, reject) => {
      let open = concurrency;
      for (let i = 0; i < concurrency; i++) {
        const stream = session.open();
        let partial = 0;
        stream.listen({
          onData(c) {
            partial += c.length;
            const done = Math.floor(partial / size);
            partial -= done * size;
            if (trips.complete(done)) for (let k = 0; k < done; k++) stream.write(msg);
            else if (partial === 0) stream.end();
          },
          onEnd() {},
          onClose(err) {
            if (err) reject(err);
            else if (--open === 0) resolve(trips.rate());
          },
        });
        stream.write(msg);
      }
    });
    return await deadline(run, durationMs + GRACE_MS, 'mux round trips');
  } finally {
    trips.dispose();
    await session.close();
  }
}
