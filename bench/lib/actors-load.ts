/**
 * Client-side drivers of the actors benchmark. Both systems are driven the same way, through a function
 * that makes one call and resolves when its answer arrived, so their ratio measures the systems, not
 * the drivers:
 *
 *  - {@link sequential}: one call at a time; the latency of each, in µs;
 *  - {@link inFlight}: `n` workers on one connection, each issuing its next call when the last one
 *    answered (so `n` calls are always in flight); completed calls per second.
 *
 * Every driver is bounded in time: it rejects after its window plus a grace period instead of hanging.
 */
import { once } from 'node:events';
import tls from 'node:tls';
import type { CertificateMaterial } from '../../src/auth/index.js';
import { FrameReader, frame } from './actors-wire.js';
import { deadline, GRACE_MS, inFlightWindow } from './load.js';
import { nowMs } from './stats.js';

/** One call: resolves when its answer arrived. */
export type CallFn = () => Promise<unknown>;

/** The value at quantile `q` (0..1) of an ascending array (nearest rank). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) throw new RangeError('no samples');
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Result of a {@link sequential} run. */
export interface LatencyRun {
  p50: number;
  p99: number;
  /** Calls per second, one at a time. */
  rate: number;
  calls: number;
}

/** Calls one after another for `ms`; latency quantiles in µs. */
export async function sequential(call: CallFn, ms: number, what: string): Promise<LatencyRun> {
  const run = async (): Promise<LatencyRun> => {
    const samples: number[] = [];
    const start = nowMs();
    const end = start + ms;
    let t = start;
    while (t < end) {
      await call();
      const after = nowMs();
      samples.push((after - t) * 1000);
      t = after;
    }
    const sorted = Float64Array.from(samples).sort();
    return {
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      rate: samples.length / ((t - start) / 1000),
      calls: samples.length,
    };
  };
  return deadline(run(), ms + GRACE_MS, `${what} sequential`);
}

/**
 * `n` workers issuing calls back to back for `ms`; completed calls per second over that window. The
 * window is closed by a timer, not by reading the clock per call; calls still in flight when it closes
 * are awaited but not counted.
 */
export async function inFlight(call: CallFn, n: number, ms: number, what: string): Promise<number> {
  const start = nowMs();
  let rate = 0;
  await inFlightWindow(call, n, ms, what, (completed) => {
    rate = completed / ((nowMs() - start) / 1000);
  });
  return rate;
}

/**
 * A client of the raw echo (./actors-wire.ts): `call()` writes one frame and resolves when it came back.
 * Answers come in order on the one connection, so waiting callers are a FIFO queue.
 */
export class RawEchoClient {
  private readonly waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private readonly request: Buffer;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: tls.TLSSocket,
    payloadBytes: number,
  ) {
    this.request = frame(Buffer.alloc(payloadBytes, 0x5a));
    const reader = new FrameReader();
    const fail = (err: Error): void => {
      this.failure ??= err;
      socket.destroy();
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(this.failure ?? new Error('raw echo connection closed')));
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        fail(err as Error);
        return;
      }
      for (let i = 0; i < frames.length; i++) this.waiting.shift()?.resolve();
    });
  }

  /** Connect with mutual TLS 1.3 (our certificate, the server's not checked: a baseline). */
  static async connect(
    port: number,
    cert: Pick<CertificateMaterial, 'certPem' | 'keyPem'>,
    payloadBytes: number,
  ): Promise<RawEchoClient> {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      key: cert.keyPem,
      cert: cert.certPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      rejectUnauthorized: false,
    });
    socket.setNoDelay(true);
    await once(socket, 'secureConnect');
    return new RawEchoClient(socket, payloadBytes);
  }

  /** The size of one request on the wire, bytes (prefix included). */
  get frameBytes(): number {
    return this.request.length;
  }

  readonly call = (): Promise<void> => {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(this.request);
    });
  };

  close(): void {
    this.socket.destroy();
  }
}
