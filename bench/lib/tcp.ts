/**
 * TCP plumbing shared by benchmarks: listeners on 127.0.0.1 port 0 and connected clients, both with Nagle off
 * (benchmarks measure the code, not the 40 ms delayed-ACK interplay).
 */
import { once } from 'node:events';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/** A listener; `close()` destroys open connections too, so it always completes. */
export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listen on 127.0.0.1:0 and hand every accepted socket to `onSocket`. `allowHalfOpen` keeps the socket
 * writable after the peer ends (needed to send an answer after a half-close). A socket error only
 * destroys that socket.
 */
export async function listen(onSocket: (socket: Socket) => void, allowHalfOpen = false): Promise<Listener> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('listener has no TCP address');
  return {
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Connect to 127.0.0.1:`port`; resolves once connected, rejects on a connection error. */
export async function connect(port: number, allowHalfOpen = false): Promise<Socket> {
  const socket = tcpConnect({ port, host: '127.0.0.1', allowHalfOpen, noDelay: true });
  await once(socket, 'connect');
  return socket;
}
