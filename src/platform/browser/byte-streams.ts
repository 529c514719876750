/**
 * Byte streams as channel ends, in a browser: none yet. No value is a byte stream, so nothing is sent as
 * one; a byte stream the peer puts in a message makes that message fail to decode (BAD_REFERENCE), so a
 * call returning one fails with that error instead of hanging. Same surface as
 * src/platform/node/byte-streams.ts.
 */

import type { StreamPort } from '../../transport/channel/port.js';
import type { Preface } from '../../transport/channel/preface.js';
import { transportError } from '../../transport/errors.js';

export function isByteStream(_v: unknown): boolean {
  return false;
}

export function isByteStreamClass(_type: Function): boolean {
  return false;
}

export function byteStreamPreface(_v: object): Preface | undefined {
  return undefined;
}

export function isBoundByteStream(_v: object): boolean {
  return false;
}

export function isSpentByteStream(_v: object): boolean {
  return false;
}

/** Never called: no value is a byte stream here. Throws ENCODE_ERROR. */
export function bindLocalByteStream(_end: object, _preface: Preface, _port: StreamPort): void {
  throw transportError('ENCODE_ERROR', 'byte streams are not supported in the browser build');
}

/** Throws BAD_REFERENCE: the browser build cannot receive byte streams yet. */
export function remoteByteStream(_preface: Preface, _port: StreamPort): { value: object; bind: () => void } {
  throw transportError('BAD_REFERENCE', 'byte streams are not supported in the browser build');
}

/** Never called with a byte stream here; does nothing. */
export function destroyByteStream(_v: object, _reason?: Error): void {}
