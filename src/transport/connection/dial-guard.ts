/**
 * What every dialer (TCP, TLS) arms while its connection is not yet established: one deadline for
 * connect + handshake + prelude, and handlers that turn an early close or socket error into a typed
 * failure. `disarm()` removes them once the connection is handed over; a late socket error is still
 * swallowed by a listener kept for the socket's life, so it can never become an unhandled 'error'.
 */
import type net from 'node:net';
import { type TransportError, transportError } from '../errors.js';

/** Arms the guard on `socket`; `fail` is called at most once per cause (the caller makes it idempotent). */
export function guardDial(
  socket: net.Socket,
  host: string,
  port: number,
  timeoutMs: number,
  fail: (error: TransportError) => void,
): { disarm(): void } {
  const timer =
    timeoutMs > 0
      ? setTimeout(
          () =>
            fail(
              transportError(
                'HANDSHAKE_TIMEOUT',
                `handshake with ${host}:${port} not finished within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        )
      : undefined;
  const onClose = () =>
    fail(transportError('CONNECTION_LOST', `${host}:${port} closed the connection during the handshake`));
  const onEarlyError = (err: NodeJS.ErrnoException) => fail(socketError(err, host, port));
  socket.on('error', () => undefined);
  socket.once('error', onEarlyError);
  socket.once('close', onClose);
  return {
    disarm() {
      clearTimeout(timer);
      socket.off('close', onClose);
      socket.off('error', onEarlyError);
    },
  };
}

/** A socket error during a dial: HANDSHAKE_FAILED for TLS errors, CONNECTION_LOST otherwise. */
export function socketError(err: NodeJS.ErrnoException, host: string, port: number): TransportError {
  const code = err.code ?? '';
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return transportError(
      'HANDSHAKE_FAILED',
      `TLS handshake with ${host}:${port} failed: ${err.message.split('\n')[0]}`,
      { cause: err },
    );
  }
  return transportError('CONNECTION_LOST', `connection to ${host}:${port} failed: ${code || err.message}`, {
    cause: err,
  });
}
