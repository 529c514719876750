/**
 * Keyed actors in a cluster, against a Placement written here (a Subject for lease$, a map of owners):
 * one claim per key, NOT_OWNER with the owner, FENCED refusals, fencing that stops every activation at
 * once, release after passivation, and a membership without placement. Calls come over real TLS from
 * a client with a direct keyed ref (`peer`), so the refusals' reason and details cross the wire.
 * The PostgreSQL placement is tested end to end in specs/cluster.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BehaviorSubject, of } from 'rxjs';
import { inject } from 'tsyringe';
import {
  ACTOR_KEY,
  ActorSystem,
  actor,
  callContext,
  type HostPeer,
  isRpcError,
  type RpcError,
} from '../../src/actors/index.js';
import { signGrant } from '../../src/auth/grant.js';
import { Identity } from '../../src/auth/identity.js';
import type { Membership } from '../../src/cluster/membership.js';
import { type Claim, ClusterReason, type LeaseState, type Placement } from '../../src/cluster/placement.js';

const admin = Identity.generate();

/** A placement in memory: owners by `actor/key`; claims wait for `gate` when set. */
class TestPlacement implements Placement {
  readonly lease$ = new BehaviorSubject<LeaseState>('valid');
  readonly owners = new Map<string, string>();
  readonly released: string[] = [];
  claims = 0;
  gate: Promise<void> | undefined;
  /** What `leaseValid()` says: the lease by the clock, ahead of `lease$` (whose timer may be late). */
  valid = true;

  constructor(private readonly self: string) {}

  leaseValid(): boolean {
    return this.valid;
  }

  async claim(actor: string, key: string): Promise<Claim> {
    this.claims++;
    await this.gate;
    if (this.lease$.value === 'fenced') {
      throw Object.assign(new Error('fenced'), { code: 'UNAVAILABLE', reason: 'FENCED' });
    }
    const id = `${actor}/${key}`;
    const owner = this.owners.get(id) ?? this.self;
    this.owners.set(id, owner);
    return { owner };
  }

  async release(actor: string, key: string): Promise<void> {
    const id = `${actor}/${key}`;
    this.released.push(id);
    if (this.owners.get(id) === this.self) this.owners.delete(id);
  }
}

function membershipWith(placement: Placement | undefined): Membership {
  return {
    join: async () => {},
    watch: async () => {},
    update: async () => {},
    members$: of([]),
    members: () => [],
    leave: async () => {},
    close: async () => {},
    ...(placement ? { placement } : {}),
  };
}

const log: string[] = [];
const gates = new Map<string, () => void>();

@actor('account', { keyed: true, idleMs: 60_000 })
class Account {
  constructor(@inject(ACTOR_KEY) readonly key: string) {}

  whoami(): string {
    log.push(`run:${this.key}`);
    return `${this.key}@${callContext().key}`;
  }

  /** Runs until its gate opens or its signal aborts; records which. */
  async hold(tag: string): Promise<string> {
    log.push(`start:${tag}`);
    const signal = callContext().signal;
    await new Promise<void>((resolve) => {
      gates.set(tag, resolve);
      signal.addEventListener('abort', () => {
        log.push(`aborted:${tag}:${(signal.reason as RpcError).reason}`);
        resolve();
      });
    });
    return tag;
  }

  onStop(): void {
    log.push(`stop:${this.key}`);
  }
}

interface Setup {
  server: ActorSystem;
  client: ActorSystem;
  placement: TestPlacement;
  peer: HostPeer;
}

const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.close()));
  log.length = 0;
  gates.clear();
});

async function setup(withPlacement = true, idleMs?: number): Promise<Setup> {
  const serverId = Identity.generate();
  const clientId = Identity.generate();
  const placement = new TestPlacement(serverId.id);
  const grant = signGrant(admin, {
    subject: serverId.publicKey,
    notAfter: new Date(Date.now() + 3_600_000),
    name: 'node',
  });
  const server = new ActorSystem({
    identity: serverId,
    authorizedKeys: [{ key: clientId.id, name: 'alice' }],
    cluster: { membership: membershipWith(withPlacement ? placement : undefined), adminKey: admin.id, grant },
    config: { closeTimeoutMs: 300 },
  });
  const client = new ActorSystem({ identity: clientId, config: { closeTimeoutMs: 300 } });
  systems.push(client, server);
  await server.register('account', Account, idleMs === undefined ? {} : { idleMs });
  const { port } = await server.listen();
  return { server, client, placement, peer: { host: '127.0.0.1', port, key: serverId.id } };
}

async function eventually(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; i < 10_000 && !check(); i++) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const refusal = (reason: string) => (e: unknown) => isRpcError(e, 'UNAVAILABLE') && e.reason === reason;

describe('keyed actors with a placement', () => {
  it('claims a key once, however many calls wait for the claim', async () => {
    const { client, placement, peer, server } = await setup();
    let open!: () => void;
    placement.gate = new Promise((resolve) => {
      open = resolve;
    });
    const ref = client.ref<Account>('account', 'k1', { peer });
    const calls = [ref.whoami(), ref.whoami(), ref.whoami()];
    await eventually(() => placement.claims === 1, 'the claim');
    await sleep(20);
    open();
    assert.deepEqual(await Promise.all(calls), ['k1@k1', 'k1@k1', 'k1@k1']);
    assert.equal(placement.claims, 1);
    assert.equal(server.stats().activated, 1);
  });

  it('refuses a key another node holds: UNAVAILABLE NOT_OWNER with details.owner; the call did not run', async () => {
    const { client, placement, peer, server } = await setup();
    placement.owners.set('account/theirs', 'other-node-key');
    await assert.rejects(
      client.ref<Account>('account', 'theirs', { peer }).whoami(),
      (e: unknown) =>
        refusal(ClusterReason.NOT_OWNER)(e) &&
        (e as RpcError).details !== undefined &&
        ((e as RpcError).details as { owner?: string }).owner === 'other-node-key',
    );
    assert.deepEqual(log, []);
    assert.equal(server.stats().activations, 0);
    assert.equal(await client.ref<Account>('account', 'mine', { peer }).whoami(), 'mine@mine');
  });

  it('refuses keyed calls FENCED while the lease is fenced, and serves again once valid', async () => {
    const { client, placement, peer } = await setup();
    placement.lease$.next('fenced');
    await assert.rejects(client.ref<Account>('account', 'k', { peer }).whoami(), refusal('FENCED'));
    assert.equal(placement.claims, 0, 'no claim while fenced');
    placement.lease$.next('valid');
    assert.equal(await client.ref<Account>('account', 'k', { peer }).whoami(), 'k@k');
  });

  it('a lease out by the clock fences as a keyed call arrives, before lease$ says so; a renewal lets calls in again', async () => {
    const { client, placement, peer, server } = await setup();
    assert.equal(await client.ref<Account>('account', 'a', { peer }).whoami(), 'a@a');
    assert.equal(server.stats().activations, 1);
    // lease$ still says valid (its timer has not run), but the clock says the lease is out.
    placement.valid = false;
    await assert.rejects(client.ref<Account>('account', 'b', { peer }).whoami(), refusal('FENCED'));
    await assert.rejects(client.ref<Account>('account', 'a', { peer }).whoami(), refusal('FENCED'));
    await eventually(() => server.stats().activations === 0, 'the active key stopped');
    assert.ok(log.includes('stop:a'), log.join());
    assert.equal(placement.lease$.value, 'valid', 'lease$ never said fenced');
    // A renewal before the timer ran: lease$ emits nothing, the clock says valid again.
    placement.valid = true;
    assert.equal(await client.ref<Account>('account', 'a', { peer }).whoami(), 'a@a');
  });

  it('fencing stops every activation at once: running handlers aborted, queued calls FENCED, onStop, nothing released', async () => {
    const { client, placement, peer, server } = await setup();
    const a = client.ref<Account>('account', 'a', { peer });
    const b = client.ref<Account>('account', 'b', { peer });
    const running = a.hold('a1');
    const queued = a.hold('a2');
    const other = b.hold('b1');
    await eventually(() => gates.has('a1') && gates.has('b1'), 'both handlers running');
    assert.equal(server.stats().activations, 2);
    placement.lease$.next('fenced');
    await assert.rejects(running, refusal('FENCED'));
    await assert.rejects(queued, refusal('FENCED'));
    await assert.rejects(other, refusal('FENCED'));
    await eventually(() => server.stats().activations === 0, 'both activations stopped');
    assert.ok(log.includes('aborted:a1:FENCED') && log.includes('aborted:b1:FENCED'), log.join());
    assert.ok(!log.includes('start:a2'), 'the queued call never ran');
    assert.ok(log.includes('stop:a') && log.includes('stop:b'), log.join());
    assert.deepEqual(placement.released, []);
    assert.equal(server.stats().passivated, 2);
  });

  it('releases the claim after passivation, and on close()', async () => {
    const { client, placement, peer, server } = await setup(true, 50);
    await client.ref<Account>('account', 'idle', { peer }).whoami();
    await eventually(() => placement.released.length === 1, 'the release');
    assert.deepEqual(placement.released, ['account/idle']);
    assert.ok(log.includes('stop:idle'));
    await client.ref<Account>('account', 'open', { peer }).whoami();
    await server.close();
    assert.deepEqual(placement.released, ['account/idle', 'account/open']);
  });

  it('refuses keyed calls FAILED_PRECONDITION in a cluster whose membership has no placement', async () => {
    const { client, peer } = await setup(false);
    await assert.rejects(client.ref<Account>('account', 'k', { peer }).whoami(), (e: unknown) =>
      isRpcError(e, 'FAILED_PRECONDITION'),
    );
  });
});
