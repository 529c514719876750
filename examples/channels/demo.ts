/**
 * The channels demo: the transport layer alone (no actors), two endpoints over TCP on 127.0.0.1.
 *
 * The server serves one mailbox channel. The client sends it two requests, each carrying a nested reply
 * channel (a Receiver; the server gets the matching Sender):
 *   1. "upper": text in, upper-cased text back on the reply channel;
 *   2. "checksum": a 2 MiB byte stream (a Node Readable) in, its size and SHA-256 back.
 * Prints what happened in a few lines; exits 0 on success, 1 on any failure, 2 after a 10 s hard timeout.
 *
 * Run: `node dist/examples/channels/demo.js`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { lastValueFrom } from 'rxjs';
import {
  ChannelSession,
  type Connection,
  dialTcp,
  listenTcp,
  Receiver,
  type Sender,
  Session,
} from '../../src/index.js';

interface Sum {
  bytes: number;
  sha256: string;
}
/** A request as the client writes it: its reply channel is the end the client reads... */
type Outgoing =
  | { op: 'upper'; text: string; reply: Receiver<string> }
  | { op: 'checksum'; body: Readable; reply: Receiver<Sum> };
/** ...and as the server reads it: the peer of a Receiver arrives as a Sender. */
type Incoming =
  | { op: 'upper'; text: string; reply: Sender<string> }
  | { op: 'checksum'; body: Readable; reply: Sender<Sum> };

const log = (line: string) => console.log(`channels: ${line}`);

/** Channels over an established connection (the connection layer did the prelude). */
function channelsOver(connection: Connection): ChannelSession {
  return new ChannelSession(new Session(connection.socket, connection.role, { keepAliveIntervalMs: 0 }));
}

/** The server side: answer each request of each mailbox channel on the reply channel it carries. */
async function serve(mailbox: Receiver<Incoming>): Promise<void> {
  for await (const req of mailbox) {
    if (req.op === 'upper') {
      await req.reply.send(req.text.toUpperCase());
    } else {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of req.body) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      await req.reply.send({ bytes, sha256: hash.digest('hex') });
    }
    req.reply.close();
  }
}

async function main(): Promise<void> {
  const serving: Promise<void>[] = [];
  const serverSessions: ChannelSession[] = [];
  const listener = await listenTcp({ host: '127.0.0.1', port: 0 }, (connection) => {
    const channels = channelsOver(connection);
    serverSessions.push(channels);
    channels.onChannel = (receiver) => serving.push(serve(receiver as Receiver<Incoming>));
  });
  log(`server listening on ${listener.host}:${listener.port}`);

  const client = channelsOver(await dialTcp({ host: '127.0.0.1', port: listener.port }));
  log('client connected (TCP, prelude done, yamux session up)');
  const mailbox = client.open<Outgoing>();

  const text = 'hello, channels';
  const upper = new Receiver<string>();
  await mailbox.send({ op: 'upper', text, reply: upper });
  const answer = await lastValueFrom(upper);
  if (answer !== text.toUpperCase()) throw new Error(`unexpected reply ${JSON.stringify(answer)}`);
  log(`request "${text}" -> reply "${answer}" (on a nested reply channel)`);

  const data = randomBytes(2 * 1024 * 1024);
  const chunks: Buffer[] = [];
  for (let off = 0; off < data.length; off += 64 * 1024) chunks.push(data.subarray(off, off + 64 * 1024));
  const sum = new Receiver<Sum>();
  await mailbox.send({ op: 'checksum', body: Readable.from(chunks), reply: sum });
  const result = await lastValueFrom(sum);
  const expected = createHash('sha256').update(data).digest('hex');
  if (result.bytes !== data.length || result.sha256 !== expected) {
    throw new Error(`checksum mismatch: ${JSON.stringify(result)}`);
  }
  log(`byte stream of ${result.bytes} bytes -> sha256 ${result.sha256.slice(0, 16)}... matches`);

  mailbox.close();
  if ((await mailbox.closed) !== undefined) throw new Error('the mailbox channel did not close cleanly');
  await Promise.all(serving);
  await Promise.all([client.close(), ...serverSessions.map((s) => s.close())]);
  await listener.close();
  log(`closed cleanly (streams left: client ${client.mux.streamCount})`);
  log('ok');
}

const timeout = setTimeout(() => {
  console.error('channels: FAILED: timed out after 10 s');
  process.exit(2);
}, 10_000);
timeout.unref();

main().then(
  () => {
    clearTimeout(timeout);
    process.exitCode = 0;
  },
  (err: unknown) => {
    console.error(`channels: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
