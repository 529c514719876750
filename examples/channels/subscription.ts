/**
 * A streaming subscription over channels, in memory (no sockets): the client sends a request carrying a
 * Receiver, the server streams ticks into the Sender it gets, and the client stops after three by
 * breaking out of its loop, which cancels the channel; the server learns it as CHANNEL_CANCELLED.
 *
 * Run: `node dist/examples/channels/subscription.js`. Exits 0 on success, 1 on failure.
 */
import {
  ChannelSession,
  isTransportError,
  memoryConnectionPair,
  Receiver,
  type Sender,
  Session,
} from '../../src/index.js';

interface Subscribe<R> {
  topic: string;
  updates: R;
}

async function main(): Promise<void> {
  const [clientConn, serverConn] = memoryConnectionPair();
  const client = new ChannelSession(new Session(clientConn.socket, 'client'));
  const server = new ChannelSession(new Session(serverConn.socket, 'server'));

  // Server: stream ticks until the subscriber cancels.
  const served = server.accept<Subscribe<Sender<number>>>().then(async (mailbox) => {
    for await (const { topic, updates } of mailbox) {
      let tick = 0;
      try {
        for (;;) await updates.send(tick++);
      } catch (err) {
        if (!isTransportError(err, 'CHANNEL_CANCELLED')) throw err;
        console.log(`subscription: server saw ${err.code} on "${topic}"`);
      }
    }
  });

  // Client: subscribe, take three ticks, stop.
  const mailbox = client.open<Subscribe<Receiver<number>>>();
  const updates = new Receiver<number>();
  await mailbox.send({ topic: 'ticks', updates });
  const seen: number[] = [];
  for await (const tick of updates) {
    seen.push(tick);
    if (seen.length === 3) break; // cancels the channel
  }
  console.log(`subscription: client got ${seen.join(', ')} and stopped`);
  mailbox.close();
  await served;
  await Promise.all([client.close(), server.close()]);
  if (seen.join() !== '0,1,2') throw new Error(`unexpected ticks ${seen.join()}`);
  console.log('subscription: ok');
}

const timeout = setTimeout(() => {
  console.error('subscription: FAILED: timed out');
  process.exit(2);
}, 10_000);
timeout.unref();

main().then(
  () => clearTimeout(timeout),
  (err: unknown) => {
    console.error(`subscription: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
