/**
 * The check that ends every fuzz batch: a fresh pair of sessions in this same process still carries a
 * request and its reply (on a nested channel) and closes with empty stream tables. Bad input on one
 * connection must never stop the process from serving the others.
 */
import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import { ChannelSession, Receiver, type Sender } from '../../src/transport/channel/index.js';
import { Session } from '../../src/transport/mux/index.js';
import { memoryDuplexPair } from '../support/memory-duplex.js';
import { within } from '../transport/channel/pair.js';

interface Ping {
  text: string;
  reply: Sender<string> | Receiver<string>;
}

/** One echo over a fresh in-memory connection; rejects if it fails or takes more than 5 s. */
export async function healthyEcho(text = 'still serving'): Promise<void> {
  const [a, b] = memoryDuplexPair();
  const client = new ChannelSession(new Session(a, 'client', { keepAliveIntervalMs: 0 }));
  const server = new ChannelSession(new Session(b, 'server', { keepAliveIntervalMs: 0 }));
  server.onChannel = (r) => {
    (r as Receiver<Ping>).subscribe((m) => {
      const reply = m.reply as Sender<string>;
      reply.send(m.text.toUpperCase()).then(
        () => reply.close(),
        () => {},
      );
    });
  };
  try {
    const mailbox = client.open<Ping>();
    const reply = new Receiver<string>();
    const got = lastValueFrom(reply.pipe(toArray()));
    await mailbox.send({ text, reply });
    mailbox.close();
    assert.deepEqual(await within(got, 5_000, 'the healthy echo'), [text.toUpperCase()]);
    await within(Promise.all([client.close(), server.close()]), 5_000, 'the healthy pair to close');
    assert.equal(client.mux.streamCount, 0);
    assert.equal(server.mux.streamCount, 0);
  } finally {
    client.destroy();
    server.destroy();
  }
}
