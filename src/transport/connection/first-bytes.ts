/**
 * The first-bytes deadline of a listener whose clients speak first (TLS: the ClientHello is sent at
 * connect). A connection that stays silent is an idle socket holding a handshake slot; it is dropped
 * long before the whole-handshake deadline.
 */
import type net from 'node:net';
import { transportError } from '../errors.js';
import { SecureStepError } from './secure-step-error.js';

/**
 * Resolves once `raw` has bytes to read; they stay buffered in `raw` (not consumed), so whatever
 * wraps it next (a TLSSocket) reads them first. Rejects with SecureStepError HANDSHAKE_TIMEOUT when
 * nothing arrived within `timeoutMs` (0: no deadline of its own), CLOSED when the client ended or
 * left first. Never throws; leaves no listener behind.
 */
export function awaitFirstBytes(raw: net.Socket, timeoutMs: number): Promise<void> {
  if (raw.readableLength > 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (error?: SecureStepError) => {
      clearTimeout(timer);
      raw.off('readable', onReadable);
      raw.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const closedEarly = () =>
      new SecureStepError(
        'CLOSED',
        transportError('CONNECTION_LOST', 'client closed before sending anything'),
      );
    // 'readable' also fires at the end of the stream, with nothing to read.
    const onReadable = () => done(raw.readableLength > 0 ? undefined : closedEarly());
    const onClose = () => done(closedEarly());
    raw.on('readable', onReadable);
    raw.once('close', onClose);
    if (timeoutMs > 0) {
      timer = setTimeout(
        () =>
          done(
            new SecureStepError(
              'HANDSHAKE_TIMEOUT',
              transportError(
                'HANDSHAKE_TIMEOUT',
                `client sent nothing within ${timeoutMs} ms (firstBytesTimeoutMs)`,
              ),
            ),
          ),
        timeoutMs,
      );
    }
  });
}
