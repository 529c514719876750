/**
 * ChannelSession over the in-memory duplex pair, both yamux roles opening; the same scenarios run over
 * TCP in specs/integration/channels-tcp.spec.ts. One more pass delivers the bytes in 7-byte pieces, so
 * records and prefaces are split everywhere.
 */
import { describe, it } from 'node:test';
import { lifecycleScenarios } from './lifecycle.js';
import { limitScenarios } from './limits.js';
import { type Direction, makePair } from './pair.js';
import { scenarios as core } from './scenarios.js';

const scenarios = [...core, ...limitScenarios, ...lifecycleScenarios];

for (const direction of ['client-opens', 'server-opens'] as Direction[]) {
  describe(`channels over memory, ${direction}`, () => {
    for (const s of scenarios) {
      it(s.name, async () => {
        const pair = await makePair('memory', direction, s.options);
        try {
          await s.run(pair);
        } catch (err) {
          await pair.teardown();
          throw err;
        }
        await pair.finish();
      });
    }
  });
}

describe('channels over memory, 7-byte chunks', () => {
  for (const s of scenarios.filter((x) => !/MiB|Writable|backpressure/.test(x.name))) {
    it(s.name, async () => {
      const pair = await makePair('memory', 'client-opens', { ...s.options, maxChunk: 7 });
      try {
        await s.run(pair);
      } catch (err) {
        await pair.teardown();
        throw err;
      }
      await pair.finish();
    });
  }
});
