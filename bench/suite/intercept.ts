/**
 * The two ways bench/interceptors.ts runs rxchan: bare, and with one no-op interceptor on each side
 * (the cost of the interceptor chain itself, as a user's logging or auth interceptor would add it).
 */
import type { ActorSystemOptions, Interceptors } from '../../src/index.js';

/** One no-op interceptor on each side: it only calls next. */
const NO_OP: Interceptors = {
  server: (_call, next) => next(),
  client: (call, next) => next(call),
};

/** The ActorSystem options of each variant. */
export function interceptionOptions(intercepted: boolean): Partial<ActorSystemOptions> {
  return intercepted ? { interceptors: [NO_OP] } : {};
}
