/**
 * The multiplexer configuration both sides of the mux benchmark use: the defaults, overridden by the JSON
 * object in `BENCH_MUX` (e.g. `BENCH_MUX='{"maxSendFrame":262144}' npm run bench -- mux`). The child peer
 * inherits the environment, so both ends always agree.
 */
import type { MuxConfig } from '../../src/transport/mux/index.js';

/** Overrides from `BENCH_MUX`, or `{}`. Throws on malformed JSON so a typo cannot silently bench the defaults. */
export function benchMuxConfig(): Partial<MuxConfig> {
  const raw = process.env.BENCH_MUX;
  if (!raw) return {};
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('BENCH_MUX must be a JSON object of MuxConfig fields');
  }
  return parsed as Partial<MuxConfig>;
}
