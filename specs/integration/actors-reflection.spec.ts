/**
 * The built-in reflection actor over TLS 1.3: `list()` shows each caller only what its `allow` lists let
 * it call, with kinds and without private names; `ping()`; the `rxchan.` prefix is reserved; the
 * `reflection` option turns it off or narrows it; it is not counted in `stats().actors`.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
// biome-ignore lint/style/useImportType: decorator metadata (design:returntype) needs Observable as a value
import { Observable, of } from 'rxjs';
import {
  ActorSystem,
  actor,
  isRpcError,
  method,
  REFLECTION_ACTOR,
  type Reflection,
} from '../../src/actors/index.js';
import { isTransportError } from '../../src/transport/errors.js';
import { type Pair, pair } from './actors-pair.js';

@actor('open')
class Open {
  @method({})
  add(a: number, b: number): number {
    return a + b;
  }
  @method({})
  ticks(n: number): Observable<number> {
    return of(n);
  }
  _secret(): string {
    return 'secret';
  }
  helper(): string {
    return 'helper';
  }
}

@actor('mixed')
class Mixed {
  everyone(): string {
    return 'ok';
  }
  @method({ allow: ['ops'] })
  opsOnly(): string {
    return 'ok';
  }
}

@actor('admin', { allow: ['ops'] })
class Admin {
  @method({})
  async restart(): Promise<void> {}
}

// Reachable by nobody remote but ops, by key id (set per spec).
class ByKey {
  @method({ kind: 'stream' })
  feed(): Observable<number> {
    return of(1);
  }
}

const packageVersion = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'package.json'), 'utf8'),
).version as string;

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('actors: the reflection actor', () => {
  it('lists for each caller only the actors and methods it may call, with their kinds', async () => {
    p = await pair();
    await p.server.register(Open);
    await p.server.register(Mixed);
    await p.server.register(Admin);
    await p.server.register('bykey', ByKey, { allow: [p.opsId.id] });
    const alice = p.client.ref<Reflection>(REFLECTION_ACTOR, p.peer);
    assert.deepEqual(await alice.list(), [
      { actor: 'mixed', methods: [{ name: 'everyone', kind: 'unknown' }] },
      {
        actor: 'open',
        methods: [
          { name: 'add', kind: 'unary' },
          { name: 'helper', kind: 'unknown' },
          { name: 'ticks', kind: 'stream' },
        ],
      },
      {
        actor: REFLECTION_ACTOR,
        methods: [
          { name: 'list', kind: 'unary' },
          { name: 'ping', kind: 'unary' },
        ],
      },
    ]);
    const ops = p.opsClient().ref<Reflection>(REFLECTION_ACTOR, p.peer);
    const seen = await ops.list();
    assert.deepEqual(
      seen.map((a) => a.actor),
      ['admin', 'bykey', 'mixed', 'open', REFLECTION_ACTOR],
    );
    assert.deepEqual(seen.find((a) => a.actor === 'admin')!.methods, [{ name: 'restart', kind: 'unary' }]);
    assert.deepEqual(seen.find((a) => a.actor === 'bykey')!.methods, [{ name: 'feed', kind: 'stream' }]);
    assert.deepEqual(
      seen.find((a) => a.actor === 'mixed')!.methods.map((m) => m.name),
      ['everyone', 'opsOnly'],
    );
    // A local caller is trusted: it sees everything.
    const local = await p.server.ref<Reflection>(REFLECTION_ACTOR).list();
    assert.equal(local.length, 5);
    assert.ok(!JSON.stringify(local).includes('_secret'));
  });

  it('ping answers the server time and version', async () => {
    p = await pair();
    const before = Date.now();
    const reply = await p.client.ref<Reflection>(REFLECTION_ACTOR, p.peer).ping();
    assert.equal(reply.version, packageVersion);
    assert.ok(reply.time >= before && reply.time <= Date.now(), String(reply.time));
  });

  it('is not counted in stats().actors, and its name prefix is reserved', async () => {
    const system = new ActorSystem();
    try {
      assert.equal(system.stats().actors, 0);
      assert.throws(
        () => system.register(REFLECTION_ACTOR, Open),
        (e) => isRpcError(e, 'INVALID_ARGUMENT'),
      );
      assert.throws(
        () => system.register('rxchan.mine', Open),
        (e) => isRpcError(e, 'INVALID_ARGUMENT'),
      );
      await system.register(Open);
      assert.equal(system.stats().actors, 1);
    } finally {
      await system.close();
    }
  });

  it('reflection: false serves none (NOT_FOUND); { allow } narrows who may call it', async () => {
    p = await pair({ server: { reflection: false } });
    await assert.rejects(p.client.ref<Reflection>(REFLECTION_ACTOR, p.peer).ping(), (e) =>
      isRpcError(e, 'NOT_FOUND'),
    );
    await p.close();
    p = await pair({ server: { reflection: { allow: ['ops'] } } });
    await assert.rejects(p.client.ref<Reflection>(REFLECTION_ACTOR, p.peer).list(), (e) =>
      isRpcError(e, 'PERMISSION_DENIED'),
    );
    const ops = p.opsClient().ref<Reflection>(REFLECTION_ACTOR, p.peer);
    assert.deepEqual(
      (await ops.list()).map((a) => a.actor),
      [REFLECTION_ACTOR],
    );
    assert.throws(
      () => new ActorSystem({ reflection: { allow: [''] } }),
      (e) => isTransportError(e, 'INVALID_CONFIG'),
    );
  });
});
