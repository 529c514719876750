/**
 * A long stream read by pulling (`for await` on a stream call, a handler returning an AsyncIterable),
 * over TLS 1.3: neither side keeps anything per item once it is read. (Racing every read against one
 * long-lived promise kept each item alive until the stream ended, on both sides.)
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { actor } from '../../src/actors/index.js';
import { type Pair, pair } from './actors-pair.js';

const ITEMS = 4_000;
const ITEM_BYTES = 20_000;

@actor('chunks')
class Chunks {
  async *pull(n: number): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < n; i++) yield new Uint8Array(ITEM_BYTES).fill(i & 0xff);
  }
}

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('actors over TLS: memory of a pulled stream', () => {
  it(`reading ${ITEMS} items of ${ITEM_BYTES} bytes keeps none of them`, async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const used = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    // Windows that do not grow: what is in flight between the two measures stays small (~1 MB).
    const mux = { windowGrowthBudget: 0 };
    p = await pair({ server: { mux }, client: { mux } });
    await p.server.register(Chunks);
    const chunks = p.client.ref<Chunks>('chunks', p.peer);
    let read = 0;
    let before = 0;
    let nearEnd = 0;
    for await (const chunk of chunks.pull(ITEMS)) {
      assert.equal(chunk.length, ITEM_BYTES);
      if (read === 500) before = used();
      if (read === ITEMS - 1) nearEnd = used();
      read++;
    }
    assert.equal(read, ITEMS);
    const grown = (nearEnd - before) / 1e6;
    const kept = ((ITEMS - 500) * ITEM_BYTES) / 1e6;
    assert.ok(grown < kept / 4, `grew ${grown.toFixed(1)} MB while reading ${kept.toFixed(0)} MB`);
  });
});
