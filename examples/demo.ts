/**
 * The rxchan demo (`npm start`): two actor systems on 127.0.0.1, each with a fresh ed25519 identity,
 * talking over mutual TLS 1.3.
 *
 *   1. calls: request/reply through a typed ref; the server knows the caller by its key;
 *   2. a subscription: an Observable method, streamed until it completes;
 *   3. a cancellation: an endless Observable, unsubscribed by the client; the server's teardown runs and
 *      logs it (the unsubscribe crossed the network);
 *   4. a rejected peer: a third identity, not in the server's authorized keys, gets UNAUTHENTICATED with
 *      the server's reason, and none of its calls reaches an actor.
 *
 * Prints one short line per step; exits 0 on success, non-zero on failure (see examples/lib/run.ts),
 * with a 15 s hard timeout. The channel-level demo (no actors) is examples/channels/demo.ts.
 *
 * Run: `npm start`, or `node dist/examples/demo.js` after `npm run build`.
 */
import 'reflect-metadata';
import { TLSSocket } from 'node:tls';
import {
  filter,
  finalize,
  firstValueFrom,
  interval,
  lastValueFrom,
  Observable,
  ReplaySubject,
  take,
  tap,
  timeout,
  toArray,
} from 'rxjs';
import { ActorSystem, actor, callContext, dialTls, Identity, isRpcError, type Peer } from '../src/index.js';
import { check, type Log, runExample } from './lib/run.js';

/** What the server's actors write down: printed as `server: ...`, and awaitable by the demo. */
class Journal {
  private readonly lines = new ReplaySubject<string>(64);
  constructor(private readonly log: Log) {}

  record(line: string): void {
    this.log(`server: ${line}`);
    this.lines.next(line);
  }

  /** The first line matching `pattern` (already written or to come); rejects after `ms`. */
  waitFor(pattern: RegExp, ms = 2_000): Promise<string> {
    return firstValueFrom(
      this.lines.pipe(
        filter((l) => pattern.test(l)),
        timeout(ms),
      ),
    );
  }
}

/** The server's actor. Its constructor parameter is resolved by tsyringe from the system's container. */
@actor('greeter')
class Greeter {
  constructor(private readonly journal: Journal) {}

  hello(name: string): string {
    const ctx = callContext();
    return `hello ${name}, you are ${ctx.caller.name} to me`;
  }

  add(a: number, b: number): number {
    return a + b;
  }

  /** A finite stream: from, from-1, ..., 1, then complete. */
  countdown(from: number): Observable<number> {
    return new Observable<number>((subscriber) => {
      for (let i = from; i > 0; i--) subscriber.next(i);
      subscriber.complete();
    });
  }

  /** An endless stream: 0, 1, 2, ... every `periodMs`. Its teardown tells us how it ended. */
  ticks(periodMs: number): Observable<number> {
    const ctx = callContext();
    let sent = 0;
    return interval(periodMs).pipe(
      tap(() => sent++),
      finalize(() => {
        const reason = ctx.signal.reason as { code?: string } | undefined;
        const why = ctx.signal.aborted ? (reason?.code ?? 'aborted') : 'ended';
        this.journal.record(`ticks for ${ctx.caller.name} torn down after ${sent} ticks (${why})`);
      }),
    );
  }
}

async function main(log: Log): Promise<void> {
  const serverId = Identity.generate();
  const aliceId = Identity.generate();
  const malloryId = Identity.generate();
  const journal = new Journal(log);

  // The server: listens on 127.0.0.1 (port 0: any free port), lets only alice's key in.
  const server = new ActorSystem({
    identity: serverId,
    authorizedKeys: [{ key: aliceId.id, name: 'alice' }],
  });
  server.container.registerInstance(Journal, journal);
  await server.register(Greeter);
  const { host, port } = await server.listen();
  log(`server ${serverId.fingerprint} listening on ${host}:${port}, authorizes alice ${aliceId.fingerprint}`);

  // The client: pins the server's key. Its dial hook is optional (the default dials the same way); it
  // is here to print what the handshake established.
  const peer: Peer = { host, port, key: serverId.id };
  const alice = new ActorSystem({
    identity: aliceId,
    dial: async (p) => {
      const connection = await dialTls({
        identity: aliceId,
        host: p.host!,
        port: p.port!,
        serverKey: p.key!,
      });
      const protocol = connection.socket instanceof TLSSocket ? connection.socket.getProtocol() : 'unknown';
      log(`alice connected: ${protocol}, server proved key ${connection.peer?.fingerprint}`);
      return connection;
    },
  });
  const mallory = new ActorSystem({ identity: malloryId });

  try {
    const greeter = alice.ref<Greeter>('greeter', peer);

    // 1. Calls.
    const hello = await greeter.hello('bob');
    check(hello === 'hello bob, you are alice to me', `unexpected reply ${hello}`);
    log(`call greeter.hello("bob") -> "${hello}"`);
    const sum = await greeter.add(1, 2);
    check(sum === 3, `add(1, 2) returned ${sum}`);
    log(`call greeter.add(1, 2) -> ${sum}`);

    // 2. A subscription that completes.
    const counted = await lastValueFrom(greeter.countdown(3).pipe(toArray()));
    check(counted.join() === '3,2,1', `countdown gave ${counted.join()}`);
    log(`subscription greeter.countdown(3) -> ${counted.join(', ')}, complete`);

    // 3. A cancellation: take(3) unsubscribes after the third tick; the server tears the interval down.
    const ticks = await lastValueFrom(greeter.ticks(10).pipe(take(3), toArray()));
    check(ticks.join() === '0,1,2', `ticks gave ${ticks.join()}`);
    log(`subscription greeter.ticks(10) -> ${ticks.join(', ')}, then unsubscribe`);
    const teardown = await journal.waitFor(/^ticks for alice torn down/);
    const sent = Number(/after (\d+) ticks \(CANCELLED\)$/.exec(teardown)?.[1]);
    check(sent >= 3, `unexpected teardown: ${teardown}`);

    // 4. A peer the server does not know.
    try {
      await mallory.ref<Greeter>('greeter', peer).add(1, 2);
      throw new Error('mallory was let in');
    } catch (err) {
      if (!isRpcError(err, 'UNAUTHENTICATED')) throw err;
      log(`mallory ${malloryId.fingerprint} (not authorized) -> ${err.code}: ${err.message}`);
    }
    check(server.stats().connections === 1, `server has ${server.stats().connections} connections, want 1`);
  } finally {
    await Promise.all([alice.close(), mallory.close()]);
    await server.close();
  }
  log(
    `closed: server connections ${server.stats().connections}, alice pending calls ${alice.stats().pendingCalls}`,
  );
}

runExample('demo', main);
