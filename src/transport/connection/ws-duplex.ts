/**
 * A WebSocket (the `ws` package) as the byte stream the handshake and the multiplexer run on: every
 * binary message is a chunk of the stream, in order; message boundaries mean nothing. A text message
 * breaks the contract and fails the stream (close code 1003). Backpressure both ways: a full read
 * buffer pauses the socket, and writes wait while too much is queued on it.
 */
import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { transportError } from '../errors.js';

/** Largest message we send, bytes: longer writes are split (a peer's message limit is at least this). */
export const WS_MAX_SEND_MESSAGE = 65536;
/** Bytes queued on the socket above which a write waits for what it sent to be flushed. */
const WRITE_HIGH_WATER = 256 * 1024;

/** The close code we send for a text message: 1003, unsupported data. */
export const WS_CLOSE_UNSUPPORTED = 1003;

/**
 * The stream over an open `ws`. Ending the stream closes the WebSocket (code 1000); destroying it
 * terminates the socket; the WebSocket closing ends the readable side (what was received stays
 * readable) and then the writable one; a WebSocket error or a text message destroys the stream with
 * an error (a TransportError CONNECTION_LOST for the text message).
 */
export function webSocketDuplex(ws: WebSocket): Duplex {
  const duplex = new Duplex({
    allowHalfOpen: false,
    read() {
      if (ws.isPaused) ws.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      sendChunk(ws, chunk, callback);
    },
    final(callback) {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
      callback();
    },
    destroy(err, callback) {
      if (ws.readyState !== ws.CLOSED) ws.terminate();
      callback(err);
    },
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (duplex.destroyed) return;
    if (!isBinary) {
      ws.close(WS_CLOSE_UNSUPPORTED, 'rxchan: binary messages only');
      duplex.destroy(
        transportError('CONNECTION_LOST', 'the peer sent a text message (binary messages only)'),
      );
      return;
    }
    if (!duplex.push(data)) ws.pause();
  });
  ws.on('close', () => {
    if (!duplex.destroyed) duplex.push(null);
  });
  ws.on('error', (err) => duplex.destroy(err));
  return duplex;
}

function sendChunk(ws: WebSocket, chunk: Buffer, callback: (err?: Error | null) => void): void {
  if (ws.readyState !== ws.OPEN) {
    callback(transportError('CONNECTION_LOST', 'the WebSocket is closed'));
    return;
  }
  // A failed send also fails the socket ('error', 'close'), which destroys the stream: nothing to do here.
  const sent = () => undefined;
  for (let at = 0; at < chunk.length; at += WS_MAX_SEND_MESSAGE) {
    const part = chunk.length <= WS_MAX_SEND_MESSAGE ? chunk : chunk.subarray(at, at + WS_MAX_SEND_MESSAGE);
    const last = at + WS_MAX_SEND_MESSAGE >= chunk.length;
    if (!last || ws.bufferedAmount < WRITE_HIGH_WATER) {
      ws.send(part, { binary: true }, sent);
      continue;
    }
    // Too much queued: this write completes when its last part is flushed.
    ws.send(part, { binary: true }, (err) => callback(err ?? null));
    return;
  }
  callback();
}
