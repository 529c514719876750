/**
 * Every channel scenario, and how one runs on a fresh pair: shared by session.spec.ts (memory) and
 * specs/integration/channels-tcp.spec.ts (TCP), so both transports run the same list the same way.
 */
import { lifecycleScenarios } from './lifecycle.js';
import { limitScenarios } from './limits.js';
import { type Direction, makePair, type PairOptions, type TransportKind } from './pair.js';
import { scenarios as core, type Scenario } from './scenarios.js';

export const allScenarios: readonly Scenario[] = [...core, ...limitScenarios, ...lifecycleScenarios];

export const directions: readonly Direction[] = ['client-opens', 'server-opens'];

/**
 * Run `s` on a new pair (its options, then `extra`); on failure the pair is torn down and the error
 * rethrown, on success `finish()` checks both sides closed cleanly.
 */
export async function runScenario(
  kind: TransportKind,
  direction: Direction,
  s: Scenario,
  extra: PairOptions = {},
): Promise<void> {
  const pair = await makePair(kind, direction, { ...s.options, ...extra });
  try {
    await s.run(pair);
  } catch (err) {
    await pair.teardown();
    throw err;
  }
  await pair.finish();
}
