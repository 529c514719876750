/** StreamTable: behaves as a Map from id to value under any mix of adds and deletes, through resizes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { StreamTable } from '../../../src/transport/mux/stream-table.js';

describe('mux stream table', () => {
  it('any mix of add/delete/get agrees with a Map, through growth and shrinking', () => {
    // Small id ranges make probe runs collide and wrap; large ones spread over the 32-bit space.
    const id = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 0xffff_ffff }));
    const op = fc.oneof(
      fc.record({ add: id }),
      fc.record({ del: id }),
      fc.record({ get: id }),
      fc.record({ burst: fc.integer({ min: 1, max: 600 }) }),
      fc.constant({ drain: true }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const t = new StreamTable<{ id: number }>();
        const model = new Map<number, { id: number }>();
        let next = 1;
        const add = (k: number): void => {
          if (model.has(k)) return; // the session checks before adding
          const v = { id: k };
          t.add(k, v);
          model.set(k, v);
        };
        for (const o of ops) {
          if ('add' in o) add(o.add);
          else if ('del' in o) {
            const v = model.get(o.del);
            // Deleting with the wrong value is refused and changes nothing.
            assert.equal(t.delete(o.del, { id: o.del }), false);
            assert.equal(t.delete(o.del, v ?? { id: 0 }), v !== undefined);
            model.delete(o.del);
          } else if ('get' in o) assert.equal(t.get(o.get), model.get(o.get));
          else if ('burst' in o) for (let i = 0; i < o.burst; i++) add(1_000_000 + next++);
          else {
            for (const [k, v] of [...model]) {
              assert.ok(t.delete(k, v));
              model.delete(k);
            }
          }
          assert.equal(t.size, model.size);
        }
        for (const [k, v] of model) assert.equal(t.get(k), v);
        assert.deepEqual(
          t.toArray().map((v) => v.id),
          [...model.keys()].sort((a, b) => a - b),
        );
      }),
      { numRuns: 150 },
    );
  });

  it('clear() empties it and it works again after', () => {
    const t = new StreamTable<string>();
    for (let i = 1; i <= 1000; i++) t.add(i, `s${i}`);
    assert.equal(t.size, 1000);
    t.clear();
    assert.equal(t.size, 0);
    assert.equal(t.get(5), undefined);
    t.add(5, 'again');
    assert.equal(t.get(5), 'again');
    assert.deepEqual(t.toArray(), ['again']);
  });
});
