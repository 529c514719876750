/**
 * The ways the suite runs rxchan: as users get it (the defaults: OpenTelemetry's interceptors, inert
 * without an SDK), and for bench/interceptors.ts bare (no interceptor, `telemetry: false`) and with one
 * no-op interceptor on each side besides the default telemetry (the cost of the interceptor chain and
 * of the OpenTelemetry API without an SDK, as issue 12 states its target).
 */
import type { ActorSystemOptions, Interceptors } from '../../src/index.js';

/** One no-op interceptor on each side: it only calls next. */
const NO_OP: Interceptors = {
  server: (_call, next) => next(),
  client: (call, next) => next(call),
};

/** The ActorSystem options of each variant: undefined, the defaults; false, bare; true, a no-op interceptor. */
export function interceptionOptions(intercepted: boolean | undefined): Partial<ActorSystemOptions> {
  if (intercepted === undefined) return {};
  return intercepted ? { interceptors: [NO_OP] } : { telemetry: false };
}
