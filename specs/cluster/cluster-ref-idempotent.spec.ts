/**
 * Cluster refs: a call whose connection is lost while its handler runs (a TCP proxy in front of each
 * member cuts every connection through it) is sent to another member only when its method is declared
 * idempotent; otherwise it fails UNAVAILABLE, having run once. Real TLS on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { callContext } from '../../src/actors/context.js';
import type { ActorSystem } from '../../src/actors/system.js';
import { Identity } from '../../src/auth/identity.js';
import type { MemberInfo } from '../../src/cluster/member.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { waitFor } from './members.js';
import { clusterClient, grantOf, type Node, startNode } from './nodes.js';

interface Slow {
  slow(): string;
  ticks(): AsyncIterable<number>;
}

/** Each run of a handler, by the tag of its node. */
const runs: string[] = [];

function slowOn(tag: string) {
  return class {
    async slow(): Promise<string> {
      runs.push(tag);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, 400);
        callContext().signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve(undefined);
        });
      });
      return tag;
    }
    async *ticks(): AsyncIterable<number> {
      runs.push(tag);
      await new Promise((r) => setTimeout(r, 400));
      yield 1;
    }
  };
}

const systems: ActorSystem[] = [];
const proxies: FaultProxy[] = [];
after(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(systems.map((s) => s.close()));
});

describe('cluster refs: idempotent methods are sent again after a lost connection (TLS via proxies)', () => {
  const nodes: Node[] = [];
  const byTag = new Map<string, FaultProxy>();
  const rows: MemberInfo[] = [];

  before(async () => {
    for (const tag of ['a', 'b', 'c']) {
      const identity = Identity.generate();
      const node = await startNode(systems, { calc: slowOn(tag) }, { grant: grantOf(identity), identity });
      const proxy = await startFaultProxy(node.row.addresses.tls!.port);
      proxies.push(proxy);
      byTag.set(tag, proxy);
      nodes.push(node);
      rows.push({ ...node.row, addresses: { tls: { host: '127.0.0.1', port: proxy.port } } });
    }
  });
  beforeEach(() => {
    runs.length = 0;
  });

  /** Cut the connections of the node whose handler runs first, once it runs. */
  const cutFirst = async () => {
    await waitFor('a handler runs', () => runs.length >= 1);
    byTag.get(runs[0]!)!.cut();
  };

  it('idempotent: the call is sent to another member and answers from there; it ran twice', async () => {
    const c = clusterClient(systems, rows);
    const calc = c.clusterRef<Slow>('calc', { idempotent: ['slow'] });
    const call = calc.slow();
    await cutFirst();
    const answer = await call;
    assert.equal(runs.length, 2, `runs: ${runs}`);
    assert.notEqual(runs[0], runs[1]);
    assert.equal(answer, runs[1]);
  });

  it('not idempotent: the call fails UNAVAILABLE and ran once', async () => {
    const c = clusterClient(systems, rows);
    const calc = c.clusterRef<Slow>('calc', { idempotent: ['other'] });
    const call = calc.slow();
    await cutFirst();
    await assert.rejects(Promise.resolve(call), (e: { code?: string }) => e.code === 'UNAVAILABLE');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(runs.length, 1, `runs: ${runs}`);
  });

  it('MAX_IDEMPOTENT_ATTEMPTS: every member lost in turn: 3 attempts at most, then UNAVAILABLE', async () => {
    const c = clusterClient(systems, rows);
    const calc = c.clusterRef<Slow>('calc', { idempotent: ['slow'] });
    const call = calc.slow();
    for (let i = 1; i <= 3; i++) {
      await waitFor(`run ${i}`, () => runs.length >= i);
      byTag.get(runs[i - 1]!)!.cut();
    }
    await assert.rejects(Promise.resolve(call), (e: { code?: string }) => e.code === 'UNAVAILABLE');
    assert.equal(new Set(runs).size, 3, `each member once: ${runs}`);
  });

  it('idempotent: the attempt sent again has what is left of the deadline, not a new one', async () => {
    const c = clusterClient(systems, rows);
    const calc = c.clusterRef<Slow>('calc', { idempotent: ['slow'], timeoutMs: 600 });
    const t0 = Date.now();
    const call = calc.slow();
    await waitFor('a handler runs', () => runs.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    byTag.get(runs[0]!)!.cut();
    // The second member needs 400 ms; about 300 ms are left.
    await assert.rejects(Promise.resolve(call), (e: { code?: string }) => e.code === 'DEADLINE_EXCEEDED');
    const ms = Date.now() - t0;
    assert.equal(runs.length, 2, `runs: ${runs}`);
    assert.ok(ms < 850, `failed after ${ms} ms, the deadline was 600 ms`);
  });

  it('a stream is never sent again once its first record came back, even for an idempotent method', async () => {
    const c = clusterClient(systems, rows);
    const calc = c.clusterRef<Slow>('calc', { idempotent: ['ticks'] });
    const items: number[] = [];
    const reading = (async () => {
      for await (const n of calc.ticks()) items.push(n);
    })();
    await cutFirst();
    await assert.rejects(reading, (e: { code?: string }) => e.code === 'UNAVAILABLE');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(runs.length, 1, `runs: ${runs}`);
  });
});
