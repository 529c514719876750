/**
 * Every channel scenario over a real TCP connection on 127.0.0.1, with the yamux client opening the
 * channels and then the server (the same scenarios run over memory in specs/transport/channel/).
 */
import { describe, it } from 'node:test';
import { allScenarios, directions, runScenario } from '../transport/channel/all-scenarios.js';

for (const direction of directions) {
  describe(`channels over TCP, ${direction}`, () => {
    for (const s of allScenarios) it(s.name, () => runScenario('tcp', direction, s));
  });
}
