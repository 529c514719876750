/**
 * Child-process entry of the mux benchmark: the serving side, for raw TCP and for our multiplexer.
 *
 *   rawSink  counts the bytes of a connection until the peer half-closes, answers with the count, ends.
 *   rawEcho  writes every chunk back on the connection.
 *   muxSink  like rawSink, per stream of a mux session (role server).
 *   muxEcho  like rawEcho, per stream of a mux session.
 *
 * The count answer is 8 bytes, unsigned big-endian ({@link encodeCount}). Every echo honours backpressure
 * (pauses reading while its writes are not drained), so a slow peer cannot grow our memory without bound.
 */
import type { Socket } from 'node:net';
import { Session, type Stream } from '../../src/transport/mux/index.js';
import { servePeer } from './child.js';
import { benchMuxConfig } from './mux-config.js';
import { encodeCount } from './mux-wire.js';
import { listen } from './tcp.js';

function rawSink(socket: Socket): void {
  let count = 0;
  socket.on('data', (chunk: Buffer) => {
    count += chunk.length;
  });
  socket.on('end', () => socket.end(encodeCount(count)));
}

function rawEcho(socket: Socket): void {
  socket.on('data', (chunk: Buffer) => {
    if (!socket.write(chunk)) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
  socket.on('end', () => socket.end());
}

function muxServer(onStream: (stream: Stream) => void): (socket: Socket) => void {
  return (socket) => {
    const session = new Session(socket, 'server', benchMuxConfig());
    session.onStream = onStream;
  };
}

function muxSink(stream: Stream): void {
  let count = 0;
  stream.listen({
    onData(chunk) {
      count += chunk.length;
    },
    onEnd() {
      try {
        stream.write(encodeCount(count));
        stream.end();
      } catch {
        // Reset under us: the client sees the reset and fails its run.
      }
    },
    onClose() {},
  });
}

function muxEcho(stream: Stream): void {
  stream.listen({
    onData(chunk) {
      try {
        if (!stream.write(chunk)) {
          stream.pause();
          stream.drained().then(
            () => stream.resume(),
            () => {},
          );
        }
      } catch {
        // Reset under us: nothing to echo to.
      }
    },
    onEnd() {
      try {
        stream.end();
      } catch {}
    },
    onClose() {},
  });
}

servePeer(async () => {
  const listeners = {
    rawSink: await listen(rawSink, true),
    rawEcho: await listen(rawEcho),
    muxSink: await listen(muxServer(muxSink)),
    muxEcho: await listen(muxServer(muxEcho)),
  };
  const ports = Object.fromEntries(Object.entries(listeners).map(([k, l]) => [k, l.port]));
  return {
    ports,
    close: async () => {
      await Promise.all(Object.values(listeners).map((l) => l.close()));
    },
  };
});
