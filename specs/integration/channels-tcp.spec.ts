/**
 * Every channel scenario over a real TCP connection on 127.0.0.1, with the yamux client opening the
 * channels and then the server (the same scenarios run over memory in specs/transport/channel/).
 */
import { describe, it } from 'node:test';
import { lifecycleScenarios } from '../transport/channel/lifecycle.js';
import { limitScenarios } from '../transport/channel/limits.js';
import { type Direction, makePair } from '../transport/channel/pair.js';
import { scenarios as core } from '../transport/channel/scenarios.js';

const scenarios = [...core, ...limitScenarios, ...lifecycleScenarios];

for (const direction of ['client-opens', 'server-opens'] as Direction[]) {
  describe(`channels over TCP, ${direction}`, () => {
    for (const s of scenarios) {
      it(s.name, async () => {
        const pair = await makePair('tcp', direction, s.options);
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
