/**
 * OpenTelemetry for calls, through `@opentelemetry/api` only: it does nothing (and costs a check per
 * call) unless the application installs an SDK, or passes providers.
 *
 * - A CLIENT span per call this node makes and a SERVER span per call it serves, named "actor/method",
 *   with the RPC semantic conventions (see names.ts). A SERVER span starts when the call arrived (before
 *   the mailbox) and ends when the reply is sent, the stream ended, or the call failed; a CLIENT span
 *   ends when the call's result (or its stream) ended.
 * - W3C trace context in the call's metadata (`traceparent`, `tracestate`, docs/PROTOCOL.md 5): the
 *   handler runs with its SERVER span active, so the calls it makes, and the spans its own code starts,
 *   are children of it, across nodes.
 * - Histograms `rpc.client.call.duration` and `rpc.server.call.duration` (seconds), by `rpc.method` and
 *   `rpc.status_code`; and the system's counters as observable instruments (system-metrics.ts).
 *
 * The global tracer provider is looked up per call (an SDK registered later is used from then on); the
 * meter is taken once, when {@link openTelemetry} runs: register a global MeterProvider before making
 * the ActorSystem, or pass `meterProvider`.
 */
import {
  type Context,
  context,
  createNoopMeter,
  defaultTextMapGetter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { Peer } from '../caller/client.js';
import type { CallMetadata } from '../context.js';
import type {
  CallEnd,
  ClientInterceptor,
  Interceptors,
  OutgoingCall,
  ServerInterceptor,
} from '../interceptors.js';
import { MAX_METADATA_ENTRIES } from '../wire.js';
import {
  ERROR_TYPE,
  isSpanError,
  type MethodNames,
  NameCache,
  RPC_STATUS_CODE,
  RXCHAN_STREAM,
  SERVER_ADDRESS,
  SERVER_PORT,
} from './names.js';
import { observeSystem, type StatsSource } from './system-metrics.js';

/** What {@link openTelemetry} uses; each defaults to the global one of `@opentelemetry/api`. */
export interface TelemetryOptions {
  tracerProvider?: TracerProvider;
  meterProvider?: MeterProvider;
  /** Injects the trace context into a call's metadata and extracts it from there. */
  propagator?: {
    inject(context: Context, carrier: unknown, setter: TextMapSetter): void;
    extract(context: Context, carrier: unknown, getter: TextMapGetter): Context;
  };
}

/** Interceptors that trace and measure calls, and the reporting of a system's counters. */
export interface Telemetry extends Interceptors {
  readonly server: ServerInterceptor;
  readonly client: ClientInterceptor;
  /** Report `system.stats()` as observable metrics until the returned function is called. */
  observe(system: StatsSource): () => void;
  /**
   * True while the interceptors have work: a tracer provider is registered (it may be registered
   * later) or the meter is an SDK's. While false they only call `next`, and may be left out.
   */
  active(): boolean;
}

/** The name and version of the instrumentation (the tracer's and the meter's). */
export const INSTRUMENTATION_NAME = 'rxchan';
const INSTRUMENTATION_VERSION = '0.2.0';

/** Bucket bounds of the duration histograms, seconds: from 100 µs (a call on one machine) to 10 s. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The global provider when nothing was registered (public API: a fresh proxy's delegate). */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * Interceptors for `new ActorSystem({ interceptors: [openTelemetry()] })` (an ActorSystem installs one
 * itself unless its `telemetry` option is false). Never throws.
 */
export function openTelemetry(options: TelemetryOptions = {}): Telemetry {
  const provider = options.tracerProvider ?? trace.getTracerProvider();
  const tracer: Tracer = provider.getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
  // The global provider is a proxy: tracing is on once an SDK is registered behind it.
  const tracing =
    provider instanceof ProxyTracerProvider
      ? () => provider.getDelegate() !== NOOP_TRACER_PROVIDER
      : () => true;
  const meter: Meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
    INSTRUMENTATION_NAME,
    INSTRUMENTATION_VERSION,
  );
  const metering = meter !== createNoopMeter();
  const propagator = options.propagator ?? propagation;
  const names = new NameCache();
  const clientDuration = meter.createHistogram('rpc.client.call.duration', {
    description: 'Duration of calls this node made, until their result (or stream) ended',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  });
  const serverDuration = meter.createHistogram('rpc.server.call.duration', {
    description: 'Duration of calls served, from their arrival until their reply (or stream) ended',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  });
  const carrier = new Carrier();

  const server: ServerInterceptor = (call, next) => {
    const traced = tracing();
    if (!traced && !metering) return next();
    const ctx = call.context;
    const method = names.get(ctx.actor, ctx.method);
    const start = call.receivedAt;
    let span: Span | undefined;
    let active: Context | undefined;
    if (traced) {
      const parent = propagator.extract(ROOT_CONTEXT, ctx.metadata, defaultTextMapGetter);
      span = tracer.startSpan(
        method.name,
        { kind: SpanKind.SERVER, startTime: start, attributes: method.attributes },
        parent,
      );
      active = trace.setSpan(parent, span);
    }
    const histogram = metering ? serverDuration : undefined;
    call.onEnd((end) => ended(end, method, span, start, histogram, true));
    return active === undefined ? next() : context.with(active, next);
  };

  const client: ClientInterceptor = (call, next) => {
    const traced = tracing();
    if (!traced && !metering) return next(call);
    const method = names.get(call.actor, call.method);
    const start = performance.now();
    let span: Span | undefined;
    let active: Context | undefined;
    let out: OutgoingCall = call;
    if (traced) {
      const parent = context.active();
      span = tracer.startSpan(method.name, { kind: SpanKind.CLIENT, attributes: method.attributes }, parent);
      const peer = call.peer;
      if (peer !== undefined && span.isRecording()) {
        const where = serverAddress(peer);
        if (where) {
          span.setAttribute(SERVER_ADDRESS, where.host);
          span.setAttribute(SERVER_PORT, where.port);
        }
      }
      active = trace.setSpan(parent, span);
      const metadata = carrier.inject(propagator, active, call.options.metadata);
      if (metadata !== undefined) out = withMetadata(call, metadata);
    }
    const result = active === undefined ? next(out) : context.with(active, next, undefined, out);
    const histogram = metering ? clientDuration : undefined;
    result.onEnd((end) => ended(end, method, span, start, histogram, false));
    return result;
  };

  return {
    server,
    client,
    observe: (system) => (metering ? observeSystem(meter, system) : noop),
    active: () => metering || tracing(),
  };
}

/** A call ended: end its span (with its code) and record its duration. */
function ended(
  end: CallEnd,
  method: MethodNames,
  span: Span | undefined,
  start: number,
  histogram: Histogram | undefined,
  server: boolean,
): void {
  const code = end.code;
  if (span !== undefined) {
    if (span.isRecording()) {
      span.setAttribute(RPC_STATUS_CODE, code);
      if (end.stream) span.setAttribute(RXCHAN_STREAM, true);
      if (isSpanError(code, server)) {
        span.setAttribute(ERROR_TYPE, code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: end.error?.message ?? code });
      }
    }
    span.end();
  }
  histogram?.record((performance.now() - start) / 1000, method.measured(code, server));
}

/** The same call with other metadata. */
function withMetadata(call: OutgoingCall, metadata: CallMetadata): OutgoingCall {
  return {
    actor: call.actor,
    method: call.method,
    args: call.args,
    options: { ...call.options, metadata },
    peer: call.peer,
  };
}

/**
 * Where a propagator writes a call's trace context: a copy of the call's metadata, made only when the
 * propagator writes something (one Carrier per telemetry, reused: inject is synchronous). A call whose
 * metadata would then have more entries than a callee takes (MAX_METADATA_ENTRIES) goes without it.
 */
class Carrier {
  private base: CallMetadata | undefined;
  private out: Record<string, string> | undefined;

  /** The metadata with the context of `active` in it; undefined when the propagator wrote nothing (or too much). */
  inject(
    propagator: NonNullable<TelemetryOptions['propagator']>,
    active: Context,
    metadata: CallMetadata | undefined,
  ): CallMetadata | undefined {
    this.base = metadata;
    this.out = undefined;
    try {
      propagator.inject(active, this, CARRIER_SETTER);
      const out = this.out;
      return out === undefined || Object.keys(out).length > MAX_METADATA_ENTRIES ? undefined : out;
    } finally {
      this.base = undefined;
      this.out = undefined;
    }
  }

  set(key: string, value: string): void {
    this.out ??= { ...this.base };
    this.out[key] = value;
  }
}

const CARRIER_SETTER: TextMapSetter<Carrier> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

function noop(): void {}

/** Host and port of a peer, for the server.* span attributes (a URL peer: from its URL; a port: none). */
function serverAddress(peer: Peer): { host: string; port: number } | undefined {
  if (peer.messagePort !== undefined) return undefined;
  if (peer.url === undefined) return { host: peer.host, port: peer.port };
  try {
    const u = new URL(peer.url);
    const port = u.port === '' ? (u.protocol === 'wss:' ? 443 : 80) : Number(u.port);
    return { host: u.hostname, port };
  } catch {
    return undefined;
  }
}
