/**
 * Keyed cluster refs over real TLS on 127.0.0.1, static membership: the routing of the caller. The
 * members host a keyed actor under a placement that gives every key to the member asked (so the
 * runtime never refuses by itself), and the actor refuses as the keyed runtime does (RpcError
 * UNAVAILABLE, reason NOT_OWNER with `details.owner`, or FENCED) by a table the spec sets: the router
 * judges a refusal by its reason only, so this is what it sees from a keyed server that does not hold
 * the key. The key travels as an argument too, so the actor can tell.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BehaviorSubject, lastValueFrom, type Observable, of, toArray } from 'rxjs';
import { rpcError } from '../../src/actors/errors.js';
import type { OutgoingCall } from '../../src/actors/interceptors.js';
import { ActorSystem } from '../../src/actors/system.js';
import { Identity } from '../../src/auth/identity.js';
import type { MemberInfo } from '../../src/cluster/member.js';
import type { Membership } from '../../src/cluster/membership.js';
import type { LeaseState, Placement } from '../../src/cluster/placement.js';
import { rendezvousOrder } from '../../src/cluster/rendezvous.js';
import { staticMembership } from '../../src/cluster/static.js';
import { ChannelSession, type DuplexEnds } from '../../src/transport/channel/index.js';
import { listenTls } from '../../src/transport/connection/index.js';
import { Session } from '../../src/transport/mux/index.js';
import { admin, clusterClient, grantOf, type Node, startNode, trustAdmin } from './nodes.js';

interface Counter {
  where(key: string): string;
  items(key: string): Observable<string>;
}

/** Who holds each key; members that are fenced; each call a member handled (its key id). */
const owners = new Map<string, string>();
const fenced = new Set<string>();
const visits: string[] = [];

function counterOf(me: string) {
  return class {
    where(key: string): string {
      visits.push(me);
      if (fenced.has(me)) throw rpcError('UNAVAILABLE', 'fenced', { reason: 'FENCED' });
      const owner = owners.get(key);
      if (owner !== me) {
        throw rpcError('UNAVAILABLE', `not the owner of ${key}`, {
          reason: 'NOT_OWNER',
          ...(owner ? { details: { owner } } : {}),
        });
      }
      return me;
    }
    items(key: string): Observable<string> {
      return of(this.where(key), 'more');
    }
  };
}

/** A static membership of its own whose placement gives every key to `self`, its lease always valid. */
function placingEveryKeyHere(self: string): Membership {
  const inner = staticMembership([]);
  const placement: Placement = {
    claim: async () => ({ owner: self }),
    release: async () => {},
    lease$: new BehaviorSubject<LeaseState>('valid'),
  };
  return {
    join: (info) => inner.join(info),
    watch: () => inner.watch(),
    update: (change) => inner.update(change),
    get members$() {
      return inner.members$;
    },
    members: () => inner.members(),
    leave: () => inner.leave(),
    close: () => inner.close(),
    placement,
  };
}

const systems: ActorSystem[] = [];
after(() => Promise.all(systems.map((s) => s.close())));

describe('keyed cluster refs: routing (static membership, TLS on 127.0.0.1)', () => {
  let nodes: Node[] = [];
  let rows: MemberInfo[] = [];
  const order = (key: string) => rendezvousOrder(rows, 'counter', key).map((r) => r.keyId);

  before(async () => {
    nodes = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const identity = Identity.generate();
        return startNode(
          systems,
          { counter: [counterOf(identity.id), { keyed: true }], plain: counterOf(identity.id) },
          { grant: grantOf(identity), identity, membership: placingEveryKeyHere(identity.id) },
        );
      }),
    );
    rows = nodes.map((n) => n.row);
  });

  const reset = () => {
    visits.length = 0;
    fenced.clear();
  };

  it('a key held by the first member in rendezvous order is served there in one hop; interceptors see the key', async () => {
    reset();
    const seen: OutgoingCall[] = [];
    const identity = Identity.generate();
    const c = new ActorSystem({
      identity,
      interceptors: [
        {
          client: (call, next) => {
            seen.push(call);
            return next(call);
          },
        },
      ],
      cluster: { membership: staticMembership(rows), adminKey: admin.id, grant: grantOf(identity) },
    });
    systems.push(c);
    const [first] = order('k1');
    owners.set('k1', first!);
    const counter = c.clusterRef<Counter>('counter', { key: 'k1' });
    assert.equal(await counter.where('k1'), first);
    assert.deepEqual(visits, [first]);
    assert.equal(seen[0]?.options.key, 'k1');
  });

  it('NOT_OWNER sends the call on to the owner it names, which the system remembers for the next calls', async () => {
    reset();
    const c = clusterClient(systems, rows);
    const [o0, , o2] = order('k2');
    owners.set('k2', o2!);
    const counter = c.clusterRef<Counter>('counter', { key: 'k2' });
    assert.equal(await counter.where('k2'), o2);
    assert.deepEqual(visits, [o0, o2]);
    // Another ref of the same system: straight to the remembered owner.
    assert.equal(await c.clusterRef<Counter>('counter', { key: 'k2' }).where('k2'), o2);
    assert.deepEqual(visits, [o0, o2, o2]);
    // The owner moves: the remembered one refuses and names the new one, which is remembered in turn.
    const o3 = order('k2')[3]!;
    owners.set('k2', o3);
    assert.equal(await counter.where('k2'), o3);
    assert.deepEqual(visits, [o0, o2, o2, o2, o3]);
    assert.equal(await counter.where('k2'), o3);
    assert.deepEqual(visits.slice(5), [o3]);
  });

  it('a stream call follows NOT_OWNER too: the refusal is its first reply record', async () => {
    reset();
    const c = clusterClient(systems, rows);
    const [o0, o1] = order('s1');
    owners.set('s1', o1!);
    const items = await lastValueFrom(
      c.clusterRef<Counter>('counter', { key: 's1' }).items('s1').pipe(toArray()),
    );
    assert.deepEqual(items, [o1, 'more']);
    assert.deepEqual(visits, [o0, o1]);
  });

  it('FENCED moves the call on to the next member in order', async () => {
    reset();
    const c = clusterClient(systems, rows);
    const [o0, o1] = order('k3');
    fenced.add(o0!);
    owners.set('k3', o1!);
    assert.equal(await c.clusterRef<Counter>('counter', { key: 'k3' }).where('k3'), o1);
    assert.deepEqual(visits, [o0, o1]);
  });

  it('a member that cannot be dialled is passed over: the next in order takes the call', async () => {
    reset();
    const gone = Identity.generate();
    const dead = await startNode(
      systems,
      { counter: counterOf(gone.id) },
      { grant: grantOf(gone), identity: gone },
    );
    await dead.system.close();
    const all = [dead.row, ...rows];
    // A key the dead member comes first for (bounded search: each key has a 1 in 6 chance).
    let key = '';
    for (let i = 0; i < 200 && key === ''; i++) {
      if (rendezvousOrder(all, 'counter', `d${i}`)[0]!.keyId === gone.id) key = `d${i}`;
    }
    assert.notEqual(key, '', 'a key whose first member is the dead one');
    const next = rendezvousOrder(all, 'counter', key)[1]!.keyId;
    owners.set(key, next);
    const c = clusterClient(systems, all);
    assert.equal(await c.clusterRef<Counter>('counter', { key }).where(key), next);
    assert.deepEqual(visits, [next]);
  });

  it('MAX_KEYED_HOPS: when every member refuses, 4 members at most; the call fails UNAVAILABLE with the last reason', async () => {
    reset();
    const c = clusterClient(systems, rows);
    owners.delete('nobody');
    await assert.rejects(
      c.clusterRef<Counter>('counter', { key: 'nobody' }).where('nobody'),
      (e: { code?: string; reason?: string; message: string }) => {
        assert.equal(e.code, 'UNAVAILABLE');
        assert.equal(e.reason, 'NOT_OWNER');
        assert.match(e.message, /in 4 hops/);
        return true;
      },
    );
    assert.equal(visits.length, 4);
    assert.deepEqual(visits, order('nobody').slice(0, 4));
  });

  it('an unkeyed ref does not follow NOT_OWNER: the refusal is the answer', async () => {
    reset();
    const c = clusterClient(systems, rows);
    owners.delete('x');
    await assert.rejects(
      c.clusterRef<Counter>('plain').where('x'),
      (e: { reason?: string }) => e.reason === 'NOT_OWNER',
    );
    assert.equal(visits.length, 1);
  });

  it('a key must be 1 to 256 characters', () => {
    const c = clusterClient(systems, rows);
    assert.throws(() => c.clusterRef('counter', { key: '' }), /1 to 256/);
    assert.throws(() => c.clusterRef('counter', { key: 'x'.repeat(257) }), /1 to 256/);
  });

  it("the key travels as the CALL record's k (a raw member reads the record)", async () => {
    const serverId = Identity.generate();
    const records: Record<string, unknown>[] = [];
    const sessions: ChannelSession[] = [];
    const listener = await listenTls(
      { identity: serverId, authorizedKeys: trustAdmin, grant: grantOf(serverId) },
      (connection) => {
        const channels = new ChannelSession(
          new Session(connection.socket, 'server', { keepAliveIntervalMs: 0 }),
        );
        sessions.push(channels);
        channels.onDuplex = ({ sender, receiver }: DuplexEnds) => {
          receiver.subscribe({
            next: (record) => {
              records.push(record as Record<string, unknown>);
              sender.write({ v: 'ok' });
              sender.close();
            },
            error: () => {},
          });
        };
      },
    );
    try {
      const row: MemberInfo = {
        keyId: serverId.id,
        addresses: { tls: { host: '127.0.0.1', port: listener.port } },
        actors: ['counter'],
        load: 0,
      };
      const c = clusterClient(systems, [row]);
      assert.equal(await c.clusterRef<{ go(): string }>('counter', { key: 'user-42' }).go(), 'ok');
      assert.equal(await c.clusterRef<{ go(): string }>('counter').go(), 'ok');
      assert.deepEqual(
        records.map((r) => [r.n, r.m, r.k]),
        [
          ['counter', 'go', 'user-42'],
          ['counter', 'go', undefined],
        ],
      );
      assert.ok(!('k' in records[1]!), 'no k on an unkeyed call');
    } finally {
      for (const s of sessions) s.destroy();
      await listener.close();
    }
  });
});
