/**
 * The `static` membership provider: a fixed list of nodes, for one machine or a fixed fleet. No store,
 * no leases: a listed node is a member whether it runs or not (a dial to it fails UNAVAILABLE).
 *
 * Keyed actors: `placement` places (actor, key) by rendezvous: its owner is the first of
 * `rendezvousOrder` over the members listing the actor, computed alike by every node that has the same
 * list. Nothing is stored, so it is at most one activation per key only while every node has the same
 * list and honours it; there is no durable state (`state` is undefined). `lease$` is `valid` from join
 * until leave/close. A watcher (`watch`) sees the fixed list; its `lease$` stays `fenced`.
 *
 * ```ts
 * const m = staticMembership([{ keyId: b.id, addresses: { tls: { host: '10.0.0.2', port: 7000 } }, actors: ['calc'], load: 0 }]);
 * await m.join({ keyId: a.id, addresses: { tls: { host: '10.0.0.1', port: 7000 } }, actors: ['calc'], load: 0 });
 * console.log(m.members().length);
 * // Logs: 2
 * ```
 */
import { BehaviorSubject } from 'rxjs';
import { rpcError } from '../actors/errors.js';
import { transportError } from '../transport/errors.js';
import { freezeMember as copy, type Member, type MemberInfo, sortMembers, verifyMember } from './member.js';
import type { Membership } from './membership.js';
import { type Claim, ClusterReason, type LeaseState, type Placement } from './placement.js';
import { rendezvousOrder } from './rendezvous.js';

type State = 'new' | 'joined' | 'watching' | 'done';

/**
 * A provider over `nodes`. Throws TransportError INVALID_CONFIG for a bad node or a key id listed
 * twice. Joining adds this node (replacing a listed node with the same key id); leaving removes it.
 */
export function staticMembership(nodes: readonly MemberInfo[]): Membership {
  if (!Array.isArray(nodes)) throw transportError('INVALID_CONFIG', 'cluster: static nodes must be an array');
  const fixed = new Map<string, Member>();
  nodes.forEach((n, i) => {
    verifyMember(n, `nodes[${i}]`);
    if (fixed.has(n.keyId))
      throw transportError('INVALID_CONFIG', `cluster: nodes[${i}].keyId is listed twice`);
    fixed.set(n.keyId, copy(n));
  });
  return new StaticMembership(fixed);
}

class StaticMembership implements Membership {
  readonly #fixed: Map<string, Member>;
  readonly #subject: BehaviorSubject<readonly Member[]>;
  #self: Member | undefined;
  #state: State = 'new';
  readonly #lease = new BehaviorSubject<LeaseState>('fenced');
  readonly placement: Placement;

  constructor(fixed: Map<string, Member>) {
    this.#fixed = fixed;
    this.#subject = new BehaviorSubject(this.#list());
    this.placement = {
      claim: async (actor, key) => this.#claim(actor, key),
      release: async () => {},
      lease$: this.#lease.asObservable(),
    };
  }

  /**
   * The first member listing `actor` in rendezvous order (this node when none lists it). Rejects
   * UNAVAILABLE reason FENCED before join and after leave.
   */
  #claim(actor: string, key: string): Claim {
    if (this.#state !== 'joined') {
      throw rpcError('UNAVAILABLE', 'cluster: fenced: not joined', { reason: ClusterReason.FENCED });
    }
    const [first] = rendezvousOrder(
      this.#subject.value.filter((m) => m.actors.includes(actor)),
      actor,
      key,
    );
    // No member lists the actor: this node is asked, so it serves it.
    return { owner: first?.keyId ?? this.#self!.keyId };
  }

  get members$() {
    return this.#subject.asObservable();
  }

  members(): readonly Member[] {
    return this.#subject.value;
  }

  async join(self: MemberInfo): Promise<void> {
    this.#start('join');
    verifyMember(self, 'self');
    this.#self = copy(self);
    this.#state = 'joined';
    this.#subject.next(this.#list());
    this.#lease.next('valid');
  }

  async watch(): Promise<void> {
    this.#start('watch');
    this.#state = 'watching';
  }

  /** Throws INVALID_CONFIG unless this provider is new (one role per provider). */
  #start(role: 'join' | 'watch'): void {
    if (this.#state === 'new') return;
    const was = { joined: 'join', watching: 'watch', done: 'leave' }[this.#state];
    throw transportError('INVALID_CONFIG', `cluster: ${role} after ${was} (one role per provider)`);
  }

  async update(change: Partial<Omit<MemberInfo, 'keyId'>>): Promise<void> {
    if (this.#state !== 'joined' || !this.#self)
      throw transportError('INVALID_CONFIG', 'cluster: update before join');
    const next = { ...this.#self, ...change, keyId: this.#self.keyId };
    verifyMember(next, 'self');
    this.#self = copy(next);
    this.#subject.next(this.#list());
  }

  async leave(): Promise<void> {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.#self = undefined;
    this.#subject.next(this.#list());
    this.#subject.complete();
    this.#lease.next('fenced');
    this.#lease.complete();
  }

  close(): Promise<void> {
    return this.leave();
  }

  #list(): readonly Member[] {
    const all = new Map(this.#fixed);
    if (this.#self) all.set(this.#self.keyId, this.#self);
    return sortMembers(all.values());
  }
}
