/**
 * Chat: callbacks from server to clients through actor refs, over mutual TLS 1.3 on 127.0.0.1 (one
 * process: a server system and three client systems, each with its own identity).
 *
 * Each client registers an `inbox` actor in its own system and passes a ref to it to the server's
 * `room`; the room calls those refs back, over the connections the clients opened, with what the others
 * say. The room knows each speaker by the key its connection proved. When a client goes away without
 * leaving, the next delivery to it fails and the room drops it.
 *
 * Run: `node dist/examples/chat/main.js`. Exits 0 on success (see examples/lib/run.ts).
 */
import 'reflect-metadata';
import { ActorSystem, Identity, type Peer, type Ref } from '../../src/index.js';
import { check, type Log, logger, runExample } from '../lib/run.js';
import { CHAT_LOG, Inbox, TRANSCRIPT, type Transcript } from './inbox.js';
import { Room } from './room.js';

const NAMES = ['alice', 'bob', 'carol'] as const;
type Name = (typeof NAMES)[number];

interface Client {
  system: ActorSystem;
  room: Ref<Room>;
  inbox: Ref<Inbox>;
  transcript: Transcript;
}

async function main(log: Log): Promise<void> {
  const serverId = Identity.generate();
  const ids = Object.fromEntries(NAMES.map((n) => [n, Identity.generate()])) as Record<Name, Identity>;
  const server = new ActorSystem({
    identity: serverId,
    authorizedKeys: NAMES.map((name) => ({ key: ids[name].id, name })),
  });
  await server.register(Room);
  const { host, port } = await server.listen();
  log(`room listening on ${host}:${port}`);
  const peer: Peer = { host, port, key: serverId.id };

  /** A client system with its own inbox actor, and a ref to the room. */
  const connect = async (name: Name): Promise<Client> => {
    const system = new ActorSystem({ identity: ids[name] });
    const transcript: Transcript = { owner: name, lines: [], callers: new Set() };
    system.container.register(TRANSCRIPT, { useValue: transcript });
    system.container.register(CHAT_LOG, { useValue: logger('chat') });
    await system.register(Inbox);
    return { system, room: system.ref<Room>('room', peer), inbox: system.ref<Inbox>('inbox'), transcript };
  };
  const clients = {} as Record<Name, Client>;
  try {
    for (const name of NAMES) {
      const client = await connect(name);
      clients[name] = client;
      const here = await client.room.join(client.inbox);
      log(`${name} joined (here before: ${here.length > 0 ? here.join(', ') : 'no one'})`);
    }
    const { alice, bob, carol } = clients;

    const toTwo = await alice.room.say('hi all');
    check(toTwo === 2, `alice's message reached ${toTwo} inboxes`);
    log(`alice said "hi all" -> delivered to ${toTwo}`);
    const back = await bob.room.say('hello alice');
    check(back === 2, `bob's message reached ${back} inboxes`);
    log(`bob said "hello alice" -> delivered to ${back}`);

    await carol.room.leave();
    log('carol left');

    // bob's node goes away without leaving: the room learns it on the next delivery.
    await bob.system.close();
    log('bob closed his node without leaving');
    const toNone = await alice.room.say('anyone still here?');
    const roster = await alice.room.roster();
    log(
      `alice said "anyone still here?" -> delivered to ${toNone}; room dropped ${roster.dropped.join(', ')}`,
    );
    check(toNone === 0 && roster.members.join() === 'alice', `roster ${JSON.stringify(roster)}`);
    check(roster.dropped.join() === 'bob: UNAVAILABLE', `dropped ${roster.dropped.join()}`);

    // What each inbox got, and that only the room's server called it.
    const got = (n: Name) => clients[n].transcript.lines.join(' | ');
    check(
      got('alice') === '* bob joined | * carol joined | bob: hello alice | * carol left',
      `alice got ${got('alice')}`,
    );
    check(got('bob') === '* carol joined | alice: hi all | * carol left', `bob got ${got('bob')}`);
    check(got('carol') === 'alice: hi all | bob: hello alice', `carol got ${got('carol')}`);
    check(
      NAMES.every((n) => [...clients[n].transcript.callers].every((id) => id === serverId.id)),
      'an inbox was called by someone other than the room',
    );
    log(
      `inboxes got ${NAMES.map((n) => `${n} ${clients[n].transcript.lines.length}`).join(', ')} messages, all from the room's key`,
    );
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.system.close()));
    await server.close();
  }
}

runExample('chat', main);
