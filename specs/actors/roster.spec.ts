import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Roster, type RosterEntry } from '../../src/actors/roster.js';

class Entry implements RosterEntry {
  rosterOf: Roster<RosterEntry> | undefined = undefined;
  rosterPrev: RosterEntry | undefined = undefined;
  rosterNext: RosterEntry | undefined = undefined;
  constructor(readonly n: number) {}
}

describe('Roster', () => {
  it('behaves as an insertion-ordered Set under any sequence of adds and deletes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { maxLength: 200 }),
        (ops) => {
          const entries = Array.from({ length: 10 }, (_, i) => new Entry(i));
          const roster = new Roster<Entry>();
          const model = new Set<Entry>();
          for (const [add, i] of ops) {
            const e = entries[i]!;
            if (add) {
              roster.add(e);
              model.add(e);
            } else {
              assert.equal(roster.delete(e), model.delete(e));
            }
            assert.equal(roster.size, model.size);
          }
          assert.deepEqual(
            roster.takeAll().map((e) => e.n),
            [...model].map((e) => e.n),
          );
          assert.equal(roster.size, 0);
          for (const e of entries) assert.equal(e.rosterOf, undefined);
        },
      ),
    );
  });

  it('an entry is on one roster at a time', () => {
    const a = new Roster<Entry>();
    const b = new Roster<Entry>();
    const e = new Entry(1);
    a.add(e);
    assert.throws(() => b.add(e), /another roster/);
    assert.equal(b.delete(e), false);
    assert.equal(a.delete(e), true);
    b.add(e);
    assert.equal(b.size, 1);
  });
});
