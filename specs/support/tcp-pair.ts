/** A connected TCP socket pair on 127.0.0.1, for specs that need real sockets. */
import { once } from 'node:events';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/** [client, server-side socket, done]: `done()` destroys both sockets and closes the listener (port 0). */
export async function tcpPair(): Promise<[client: Socket, server: Socket, done: () => Promise<void>]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('listener has no TCP address');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = tcpConnect(addr.port, '127.0.0.1');
  await once(client, 'connect');
  const [serverSide] = await accepted;
  const done = async (): Promise<void> => {
    client.destroy();
    serverSide.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return [client, serverSide, done];
}
