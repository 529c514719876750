/**
 * Ticker: a subscription to an Observable method over mutual TLS 1.3 on 127.0.0.1 (one process, a
 * server system and a client system), cancelled by the client after a few ticks, two ways:
 *
 *   1. `subscribe()` and later `unsubscribe()`;
 *   2. `for await` over the same kind of stream, and `break`.
 *
 * Each cancel resets the call's reply channel; the server tears the stream down (its `finalize` runs)
 * and says so in its log and in `report()`, which the client reads over the network.
 *
 * Run: `node dist/examples/ticker/main.js`. Exits 0 on success (see examples/lib/run.ts).
 */
import 'reflect-metadata';
import { ActorSystem, Identity, type Peer } from '../../src/index.js';
import { check, type Log, logger, runExample, until } from '../lib/run.js';
import { SERVER_LOG, type Tick, Ticker, type TickerReport } from './ticker.js';

const TICKS = 5;
const PERIOD_MS = 20;

async function main(log: Log): Promise<void> {
  const serverId = Identity.generate();
  const clientId = Identity.generate();
  const server = new ActorSystem({
    identity: serverId,
    authorizedKeys: [{ key: clientId.id, name: 'carol' }],
  });
  server.container.register(SERVER_LOG, { useValue: logger('ticker: server') });
  await server.register(Ticker);
  const { host, port } = await server.listen();
  log(`server listening on ${host}:${port}`);

  const client = new ActorSystem({ identity: clientId });
  const peer: Peer = { host, port, key: serverId.id };
  try {
    const ticker = client.ref<Ticker>('ticker', peer);

    // 1. subscribe, and unsubscribe after TICKS ticks.
    const got: Tick[] = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = ticker.ticks(PERIOD_MS).subscribe({
        next: (tick) => {
          got.push(tick);
          if (got.length === TICKS) {
            subscription.unsubscribe();
            resolve();
          }
        },
        error: reject,
        complete: () => reject(new Error('an endless stream completed')),
      });
    });
    check(
      got.every((t, i) => t.n === i),
      `ticks out of order: ${got.map((t) => t.n).join()}`,
    );
    log(`client got ticks ${got.map((t) => t.n).join(', ')} and unsubscribed`);
    const first = await settled(ticker, 1);
    log(`server report: ${first.live} live, ended: ${first.ended[0]}`);

    // 2. for await, and break after TICKS ticks.
    const seen: number[] = [];
    for await (const tick of ticker.ticks(PERIOD_MS)) {
      seen.push(tick.n);
      if (seen.length === TICKS) break;
    }
    log(`client iterated ticks ${seen.join(', ')} and broke out of the loop`);
    const second = await settled(ticker, 2);
    log(`server report: ${second.live} live, ended: ${second.ended[1]}`);
  } finally {
    await client.close();
    await server.close();
  }
}

/**
 * Ask the server until it reports `ended` finished subscriptions and none live; checks that each ended
 * because the client cancelled it.
 */
async function settled(ticker: { report(): Promise<TickerReport> }, ended: number): Promise<TickerReport> {
  let report: TickerReport = { live: -1, ended: [] };
  await until(async () => {
    report = await ticker.report();
    return report.live === 0 && report.ended.length === ended;
  }, 'the server to tear the stream down');
  const last = report.ended[ended - 1]!;
  check(/^carol after \d+ ticks: CANCELLED$/.test(last), `unexpected teardown: ${last}`);
  return report;
}

runExample('ticker', main);
