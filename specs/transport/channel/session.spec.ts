/**
 * ChannelSession over the in-memory duplex pair, both yamux roles opening; the same scenarios run over
 * TCP in specs/integration/channels-tcp.spec.ts. One more pass delivers the bytes in 7-byte pieces, so
 * records and prefaces are split everywhere.
 */
import { describe, it } from 'node:test';
import { allScenarios, directions, runScenario } from './all-scenarios.js';

for (const direction of directions) {
  describe(`channels over memory, ${direction}`, () => {
    for (const s of allScenarios) it(s.name, () => runScenario('memory', direction, s));
  });
}

describe('channels over memory, 7-byte chunks', () => {
  for (const s of allScenarios.filter((x) => !/MiB|Writable|backpressure/.test(x.name))) {
    it(s.name, () => runScenario('memory', 'client-opens', s, { maxChunk: 7 }));
  }
});
