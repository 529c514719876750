/** ChunkQueue: bytes come out in order, in views of at most the asked size, never spanning chunks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ChunkQueue } from '../../../src/transport/mux/chunk-queue.js';

describe('mux chunk queue', () => {
  it('any mix of push/take/shift yields the pushed bytes in order, with an exact byte count', () => {
    const op = fc.oneof(
      fc.record({ push: fc.uint8Array({ minLength: 1, maxLength: 50 }) }),
      fc.record({ take: fc.integer({ min: 1, max: 60 }) }),
      fc.constant({ shift: true }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
        const q = new ChunkQueue();
        const pushed: number[] = [];
        const out: number[] = [];
        for (const o of ops) {
          if ('push' in o) {
            q.push(o.push);
            pushed.push(...o.push);
          } else {
            const before = q.bytes;
            const part = 'take' in o ? q.take(o.take) : q.shift();
            if (part === undefined) assert.equal(before, 0);
            else {
              if ('take' in o) assert.ok(part.length <= o.take);
              assert.ok(part.length > 0);
              out.push(...part);
              assert.equal(q.bytes, before - part.length);
            }
          }
          assert.equal(q.bytes, pushed.length - out.length);
          assert.equal(q.isEmpty, q.bytes === 0);
        }
        while (!q.isEmpty) out.push(...q.shift()!);
        assert.deepEqual(out, pushed);
      }),
      { numRuns: 200 },
    );
  });

  it('hands out views, not copies, and clear() empties it', () => {
    const q = new ChunkQueue();
    const a = Buffer.from('abcdef');
    q.push(a);
    const part = q.take(2)!;
    assert.equal(part.buffer, a.buffer);
    assert.equal(Buffer.from(part).toString(), 'ab');
    q.clear();
    assert.equal(q.bytes, 0);
    assert.equal(q.shift(), undefined);
  });
});
