/**
 * Calculator: request/reply over mutual TLS 1.3 on 127.0.0.1, in one process (a server system and a
 * client system, each with a fresh identity).
 *
 * Shows: typed calls and their results, many calls in flight on one connection, a typed error
 * (division by zero -> INVALID_ARGUMENT with details), and deadlines: a method's default set on the
 * server, and a caller's own; either way the caller gets DEADLINE_EXCEEDED and the handler is stopped.
 *
 * Run: `node dist/examples/calculator/main.js`. Exits 0 on success (see examples/lib/run.ts).
 */
import 'reflect-metadata';
import { ActorSystem, Identity, isRpcError, type Peer, type Ref } from '../../src/index.js';
import { check, type Log, runExample, until } from '../lib/run.js';
import { Calculator } from './calculator.js';

async function main(log: Log): Promise<void> {
  const serverId = Identity.generate();
  const clientId = Identity.generate();
  const server = new ActorSystem({
    identity: serverId,
    authorizedKeys: [{ key: clientId.id, name: 'client' }],
  });
  await server.register(Calculator);
  const { host, port } = await server.listen();
  log(`server ${serverId.fingerprint} listening on ${host}:${port}`);

  const client = new ActorSystem({ identity: clientId });
  const peer: Peer = { host, port, key: serverId.id };
  try {
    const calc = client.ref<Calculator>('calculator', peer);

    const sum = await calc.add(2, 3);
    check(sum === 5, `add gave ${sum}`);
    log(`add(2, 3) = ${sum}`);
    const product = await calc.multiply(6, 7);
    check(product === 42, `multiply gave ${product}`);
    log(`multiply(6, 7) = ${product}`);
    const quotient = await calc.divide(1, 4);
    check(quotient === 0.25, `divide gave ${quotient}`);
    log(`divide(1, 4) = ${quotient}`);

    // Many calls in flight on the one connection; each reply comes back on its own channel.
    const sums = await Promise.all(Array.from({ length: 100 }, (_, i) => calc.add(i, i)));
    check(
      sums.every((s, i) => s === 2 * i),
      'a concurrent sum is wrong',
    );
    log(`100 concurrent add(i, i) calls on one connection: all correct`);

    // A typed error: the handler's RpcError reaches us with its code, message and details.
    try {
      await calc.divide(1, 0);
      throw new Error('divide(1, 0) did not fail');
    } catch (err) {
      if (!isRpcError(err, 'INVALID_ARGUMENT')) throw err;
      log(`divide(1, 0) -> ${err.code} "${err.message}", details ${JSON.stringify(err.details)}`);
    }

    // Deadlines. The method's own default (500 ms, set on the server) is enough for 20 ms of work...
    const quick = await calc.slowSquare(3, 20);
    check(quick === 9, `slowSquare(3) gave ${quick}`);
    log(`slowSquare(3), 20 ms of work, the method's 500 ms deadline = ${quick}`);
    // ...not for 2 s: the server's timer fires, stops the handler and answers DEADLINE_EXCEEDED.
    await expectDeadline(
      log,
      () => calc.slowSquare(4, 2_000),
      'slowSquare(4), 2000 ms of work, 500 ms deadline',
    );
    check((await stoppedCall(calc, 4)) === 'DEADLINE_EXCEEDED', 'the server did not record its deadline');
    log('server stopped slowSquare(4): DEADLINE_EXCEEDED');
    // A caller's deadline (withOptions) wins over the method's. It fires on both sides: the caller's
    // timer fails the call, and the server's stops the handler, which sees DEADLINE_EXCEEDED too.
    const hurried = calc.withOptions({ timeoutMs: 50 });
    await expectDeadline(
      log,
      () => hurried.slowSquare(5, 2_000),
      'slowSquare(5), 2000 ms of work, 50 ms caller deadline',
    );
    check(
      (await stoppedCall(calc, 5)) === 'DEADLINE_EXCEEDED',
      "the server did not see the caller's deadline",
    );
    log('server stopped slowSquare(5): DEADLINE_EXCEEDED');
  } finally {
    await client.close();
    await server.close();
  }
}

/** Awaits `call`, which must fail DEADLINE_EXCEEDED well before its 2 s of work; logs how long it took. */
async function expectDeadline(log: Log, call: () => Promise<unknown>, what: string): Promise<void> {
  const started = Date.now();
  try {
    await call();
  } catch (err) {
    if (!isRpcError(err, 'DEADLINE_EXCEEDED')) throw err;
    const took = Date.now() - started;
    check(took < 1_500, `${what}: the deadline took ${took} ms`);
    log(`${what} -> ${err.code} after ~${Math.round(took / 10) * 10} ms`);
    return;
  }
  throw new Error(`${what}: beat its deadline`);
}

/** Waits until the server recorded that slowSquare(x) stopped early; its reason's code. */
async function stoppedCall(calc: Ref<Calculator>, x: number): Promise<string> {
  const prefix = `slowSquare(${x}): `;
  let line: string | undefined;
  await until(async () => {
    line = (await calc.stoppedCalls()).find((l) => l.startsWith(prefix));
    return line !== undefined;
  }, `the server to stop slowSquare(${x})`);
  return line!.slice(prefix.length);
}

runExample('calculator', main);
