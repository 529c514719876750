/**
 * Byte streams as channel ends, on Node: a Readable or Writable put in a message is carried on a stream
 * of its own (docs/PROTOCOL.md 5.4; the pumps are in transport/channel/bytes.ts). The channel and actor
 * layers reach byte streams only through these functions, so that a browser build can leave Node's
 * streams out (src/platform/browser/byte-streams.ts).
 */
import { Readable, Writable } from 'node:stream';
import {
  isBoundStream,
  pumpIntoWritable,
  pumpReadable,
  remoteReadable,
  remoteWritable,
} from '../../transport/channel/bytes.js';
import type { StreamPort } from '../../transport/channel/port.js';
import { Preface } from '../../transport/channel/preface.js';

/** True for a byte stream this platform carries (a Node Readable or Writable). */
export function isByteStream(v: unknown): boolean {
  return v instanceof Readable || v instanceof Writable;
}

/** Node's Readable, Writable, or a subclass: a method declared to return one is unary (5.4). */
export function isByteStreamClass(type: Function): boolean {
  return (
    type === Readable ||
    type === Writable ||
    type.prototype instanceof Readable ||
    type.prototype instanceof Writable
  );
}

/**
 * The preface of the stream a byte stream is sent on: BYTES_SEND for a Readable (a Duplex is both; it is
 * sent as a Readable: its bytes go to the peer), BYTES_RECV for a Writable; undefined for anything else.
 */
export function byteStreamPreface(v: object): Preface | undefined {
  if (v instanceof Readable) return Preface.BYTES_SEND;
  if (v instanceof Writable) return Preface.BYTES_RECV;
  return undefined;
}

/** True when the byte stream `v` was already put in a message (or made by us for a received one). */
export function isBoundByteStream(v: object): boolean {
  return isBoundStream(v);
}

/** A destroyed Readable cannot be sent: its bytes are gone. */
export function isSpentByteStream(v: object): boolean {
  return v instanceof Readable && v.destroyed;
}

/** Connect a byte stream this side put in a message (of `preface`) to the stream opened for it. */
export function bindLocalByteStream(end: object, preface: Preface, port: StreamPort): void {
  if (preface === Preface.BYTES_SEND) pumpReadable(end as Readable, port);
  else pumpIntoWritable(end as Writable, port);
}

/**
 * The value a received message gets for a byte stream the peer put in it (a Readable for BYTES_SEND, a
 * Writable for BYTES_RECV), and what binds it once the message is claimed.
 */
export function remoteByteStream(preface: Preface, port: StreamPort): { value: object; bind: () => void } {
  if (preface === Preface.BYTES_SEND) {
    const r = remoteReadable(port);
    return { value: r.readable, bind: r.bind };
  }
  const w = remoteWritable(port);
  return { value: w.writable, bind: w.bind };
}

/** Destroy the byte stream `v` (with `reason`) unless it already is. Throws what its destroy() throws. */
export function destroyByteStream(v: object, reason?: Error): void {
  const s = v as Readable | Writable;
  if (!s.destroyed) s.destroy(reason);
}
