/**
 * Keyed actors over real TLS 1.3, through a direct keyed ref (`system.ref(name, key, { peer })`): the
 * key travels in the CALL record's `k` (interceptors see it in `options.key`), each key has its own
 * activation and order on the server, `allow` applies, and a missing or extra key is refused
 * INVALID_ARGUMENT before anything runs.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { inject } from 'tsyringe';
import {
  ACTOR_KEY,
  ACTOR_STATE,
  type ActorState,
  ActorSystem,
  actor,
  callContext,
  isRpcError,
  type Ref,
} from '../../src/actors/index.js';
import { memoryStateStore } from '../../src/cluster/memory-state.js';
import { type Pair, pair } from '../integration/actors-pair.js';

@actor('wallet', { keyed: true, state: true })
class Wallet {
  static made = 0;
  readonly id = ++Wallet.made;

  constructor(
    @inject(ACTOR_KEY) readonly key: string,
    @inject(ACTOR_STATE) readonly state: ActorState<number>,
  ) {}

  async deposit(amount: number): Promise<{ key: string; balance: number; id: number; caller?: string }> {
    this.state.value = (this.state.value ?? 0) + amount;
    await this.state.save();
    const ctx = callContext();
    return { key: ctx.key!, balance: this.state.value, id: this.id, caller: ctx.caller.name };
  }
}

@actor('vault', { keyed: true, allow: ['ops'] })
class Vault {
  open(): string {
    return 'open';
  }
}

@actor('bank')
class Bank {
  constructor(@inject(ActorSystem) private readonly system: ActorSystem) {}
  walletOf(key: string): Ref<Wallet> {
    return this.system.ref<Wallet>('wallet', key);
  }
}

@actor('plain')
class Plain {
  hi(): string {
    return 'hi';
  }
}

let current: Pair | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('keyed actors over TLS', () => {
  it('reaches each key’s activation on the peer; the key travels in k and interceptors see it', async () => {
    const seen: (string | undefined)[] = [];
    current = await pair({
      server: { stateStore: memoryStateStore() },
      client: {
        interceptors: [
          {
            client: (call, next) => {
              seen.push(call.options.key);
              return next(call);
            },
          },
        ],
      },
    });
    const { server, client, peer } = current;
    await server.register(Wallet);
    const a = client.ref<Wallet>('wallet', 'acct-a', { peer });
    const b = client.ref<Wallet>('wallet', 'acct-b', { peer, timeoutMs: 5_000 });
    const [a1, b1, a2] = await Promise.all([a.deposit(5), b.deposit(7), a.deposit(1)]);
    assert.deepEqual([a1.key, a1.balance, a2.balance, a1.caller], ['acct-a', 5, 6, 'alice']);
    assert.deepEqual([b1.key, b1.balance], ['acct-b', 7]);
    assert.equal(a1.id, a2.id);
    assert.notEqual(a1.id, b1.id);
    assert.deepEqual(seen, ['acct-a', 'acct-b', 'acct-a']);
    assert.deepEqual([server.stats().activations, server.stats().activated], [2, 2]);
  });

  it('refuses a keyed actor called without a key, and an unkeyed one with a key: INVALID_ARGUMENT', async () => {
    current = await pair({ server: { stateStore: memoryStateStore() } });
    const { server, client, peer } = current;
    await server.register(Wallet);
    await server.register(Plain);
    await assert.rejects(
      client.ref<Wallet>('wallet', peer).deposit(1),
      (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT') && /needs a key/.test(e.message),
    );
    await assert.rejects(
      client.ref<Plain>('plain', 'k', { peer }).hi(),
      (e: unknown) => isRpcError(e, 'INVALID_ARGUMENT') && /not keyed/.test(e.message),
    );
    assert.equal(server.stats().activated, 0);
    assert.equal(await client.ref<Plain>('plain', peer).hi(), 'hi');
  });

  it('a keyed local ref passed to a peer calls its key', async () => {
    current = await pair({ server: { stateStore: memoryStateStore() } });
    const { server, client, peer } = current;
    await server.register(Wallet);
    await server.register(Bank);
    const wallet = await client.ref<Bank>('bank', peer).walletOf('passed');
    assert.deepEqual((await wallet.deposit(3)).key, 'passed');
    assert.equal((await wallet.deposit(4)).balance, 7);
    assert.equal(
      await server
        .ref<Wallet>('wallet', 'passed')
        .deposit(0)
        .then((r) => r.balance),
      7,
    );
  });

  it('applies the actor’s allow list to keyed calls, before any activation', async () => {
    current = await pair();
    const { server, client, peer } = current;
    await server.register(Vault);
    await assert.rejects(client.ref<Vault>('vault', 'v', { peer }).open(), (e: unknown) =>
      isRpcError(e, 'PERMISSION_DENIED'),
    );
    assert.equal(server.stats().activated, 0);
    assert.equal(await current.opsClient().ref<Vault>('vault', 'v', { peer }).open(), 'open');
  });
});
