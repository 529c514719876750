/**
 * Byte streams as channel ends, in a browser: Web streams. A `ReadableStream<Uint8Array>` or a `Blob` (sent
 * as its stream) put in a message travels as BYTES_SEND, a `WritableStream<Uint8Array>` as BYTES_RECV —
 * the same wire as Node's Readable and Writable (docs/PROTOCOL.md 5.4). A byte stream the peer sends
 * arrives as a `ReadableStream<Uint8Array>` (BYTES_SEND) or a `WritableStream<Uint8Array>` (BYTES_RECV).
 * The pumps are in transport/channel/web-bytes.ts. Same surface as src/platform/node/byte-streams.ts.
 */

import type { StreamPort } from '../../transport/channel/port.js';
import { Preface } from '../../transport/channel/preface.js';
import {
  destroyWebStream,
  isBoundWebStream,
  pumpIntoWebWritable,
  pumpWebReadable,
  webRemoteReadable,
  webRemoteWritable,
} from '../../transport/channel/web-bytes.js';

/** True for a byte stream this platform carries: a ReadableStream, a Blob (a File too), a WritableStream. */
export function isByteStream(v: unknown): boolean {
  return v instanceof ReadableStream || v instanceof Blob || v instanceof WritableStream;
}

/** ReadableStream, Blob, WritableStream, or a subclass: a method declared to return one is unary (5.4). */
export function isByteStreamClass(type: Function): boolean {
  return [ReadableStream, Blob, WritableStream].some((c) => type === c || type.prototype instanceof c);
}

/** BYTES_SEND for a ReadableStream or a Blob (its bytes go to the peer), BYTES_RECV for a WritableStream. */
export function byteStreamPreface(v: object): Preface | undefined {
  if (v instanceof ReadableStream || v instanceof Blob) return Preface.BYTES_SEND;
  if (v instanceof WritableStream) return Preface.BYTES_RECV;
  return undefined;
}

/**
 * True when the byte stream `v` was already put in a message (or made by us for a received one). Never for
 * a Blob: each send reads it anew.
 */
export function isBoundByteStream(v: object): boolean {
  return isBoundWebStream(v);
}

/** A locked ReadableStream cannot be sent: another reader owns its chunks. */
export function isSpentByteStream(v: object): boolean {
  return v instanceof ReadableStream && v.locked;
}

/** Connect a byte stream this side put in a message (of `preface`) to the stream opened for it. */
export function bindLocalByteStream(end: object, preface: Preface, port: StreamPort): void {
  if (preface === Preface.BYTES_SEND) pumpWebReadable(end as ReadableStream<unknown> | Blob, port);
  else pumpIntoWebWritable(end as WritableStream<Uint8Array>, port);
}

/**
 * The value a received message gets for a byte stream the peer put in it (a ReadableStream for
 * BYTES_SEND, a WritableStream for BYTES_RECV), and what binds it once the message is claimed.
 */
export function remoteByteStream(preface: Preface, port: StreamPort): { value: object; bind: () => void } {
  if (preface === Preface.BYTES_SEND) {
    const r = webRemoteReadable(port);
    return { value: r.readable, bind: r.bind };
  }
  const w = webRemoteWritable(port);
  return { value: w.writable, bind: w.bind };
}

/** Tear the byte stream `v` down (with `reason`): a bound one resets its channel stream. Never throws. */
export function destroyByteStream(v: object, reason?: Error): void {
  destroyWebStream(v, reason);
}
