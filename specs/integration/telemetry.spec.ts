/**
 * OpenTelemetry over real TLS 1.3 on 127.0.0.1, three nodes: A calls B's actor, whose handler calls C's
 * actor. With the SDK's in-memory exporters installed (a global tracer provider, the W3C propagator and
 * the AsyncLocalStorage context manager; one MeterProvider per node), one trace follows the call
 * through the three nodes, spans carry the RPC conventions and the codes, a stream call's spans end
 * with the stream, and the metrics count durations, codes, active calls and streams, connections and
 * bytes.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { interval, map, type Observable, take } from 'rxjs';
import { ActorSystem, actor, callContext, type Peer, type Ref, RpcError } from '../../src/actors/index.js';
import { Identity } from '../../src/auth/index.js';
import { eventually } from './actors-pair.js';

/** A reader the spec collects from when it wants (cumulative). */
class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

@actor('store')
class Store {
  get(key: string): string {
    if (key === 'missing') throw new RpcError('NOT_FOUND', `no ${key}`);
    if (key === 'broken') throw new Error('the disk is on fire');
    return `value of ${key}`;
  }
}

@actor('front')
class Front {
  static store: Ref<Store> | undefined;
  async lookup(key: string): Promise<string> {
    // The handler's own span is a child of the SERVER span, and a parent of the call it makes.
    const span = trace.getTracer('app').startSpan('app.lookup');
    const ctx = trace.setSpan(context.active(), span);
    try {
      return await context.with(ctx, () => Front.store!.get(key));
    } finally {
      span.end();
    }
  }
  ticks(count: number): Observable<string> {
    const { method } = callContext();
    return interval(5).pipe(
      take(count),
      map((i) => `${method} ${i}`),
    );
  }
}

/** What the systems reported to onError (checked empty after each spec). */
const reported: unknown[] = [];

interface Node {
  system: ActorSystem;
  reader: CollectingReader;
  identity: Identity;
}

function node(identity: Identity, authorized: Identity | undefined): Node {
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const system = new ActorSystem({
    identity,
    ...(authorized ? { authorizedKeys: [{ key: authorized.id, name: 'caller' }] } : {}),
    config: { closeTimeoutMs: 300 },
    telemetry: { meterProvider },
    // A handler's own error is reported masked, with its id (`info`), by design; nothing else may be.
    onError: (e, info) => {
      if (info === undefined) reported.push(e);
    },
  });
  return { system, reader, identity };
}

/** The data points of `name` in a collection: value (sum / count / gauge) by the attributes' JSON. */
function points(metrics: ResourceMetrics, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const scope of metrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const p of metric.dataPoints) {
        const v = p.value as number | { count: number };
        out.set(JSON.stringify(p.attributes), typeof v === 'number' ? v : v.count);
      }
    }
  }
  return out;
}

function sum(m: Map<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

function byName(spans: readonly ReadableSpan[], name: string, kind: SpanKind): ReadableSpan[] {
  return spans.filter((s) => s.name === name && s.kind === kind);
}

function only(spans: readonly ReadableSpan[], name: string, kind: SpanKind): ReadableSpan {
  const found = byName(spans, name, kind);
  assert.equal(found.length, 1, `one ${SpanKind[kind]} span ${name} (got ${found.length})`);
  return found[0]!;
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

describe('OpenTelemetry across three nodes over TLS', () => {
  let a: Node;
  let b: Node;
  let c: Node;
  let front: Ref<Front>;

  before(async () => {
    contextManager.enable();
    assert.ok(context.setGlobalContextManager(contextManager));
    assert.ok(trace.setGlobalTracerProvider(tracerProvider));
    assert.ok(propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
    const ids = { a: Identity.generate(), b: Identity.generate(), c: Identity.generate() };
    a = node(ids.a, undefined);
    b = node(ids.b, ids.a);
    c = node(ids.c, ids.b);
    await c.system.register(Store);
    await b.system.register(Front);
    const cAt = await c.system.listen();
    const bAt = await b.system.listen();
    const cPeer: Peer = { host: cAt.host, port: cAt.port, key: ids.c.id };
    const bPeer: Peer = { host: bAt.host, port: bAt.port, key: ids.b.id };
    Front.store = b.system.ref<Store>('store', cPeer);
    front = a.system.ref<Front>('front', bPeer);
  });

  afterEach(() => {
    exporter.reset();
    assert.deepEqual(reported.splice(0), [], 'nothing reported to onError');
  });

  after(async () => {
    await a.system.close();
    await b.system.close();
    await c.system.close();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it('follows a call through three nodes: one trace, each span the child of the one before', async () => {
    assert.equal(await front.lookup('k'), 'value of k');
    await eventually(() => exporter.getFinishedSpans().length >= 5, 'five spans');
    const spans = exporter.getFinishedSpans();
    const aClient = only(spans, 'front/lookup', SpanKind.CLIENT);
    const bServer = only(spans, 'front/lookup', SpanKind.SERVER);
    const own = only(spans, 'app.lookup', SpanKind.INTERNAL);
    const bClient = only(spans, 'store/get', SpanKind.CLIENT);
    const cServer = only(spans, 'store/get', SpanKind.SERVER);
    const traceId = aClient.spanContext().traceId;
    for (const s of [bServer, own, bClient, cServer]) assert.equal(s.spanContext().traceId, traceId);
    assert.equal(parentOf(aClient), undefined, "A's client span is the root");
    assert.equal(parentOf(bServer), aClient.spanContext().spanId);
    assert.equal(parentOf(own), bServer.spanContext().spanId);
    assert.equal(parentOf(bClient), own.spanContext().spanId);
    assert.equal(parentOf(cServer), bClient.spanContext().spanId);
    assert.equal(bServer.parentSpanContext?.isRemote, true, 'the parent came over the wire');

    assert.deepEqual(
      { ...aClient.attributes },
      {
        'rpc.system.name': 'rxchan',
        'rpc.method': 'front/lookup',
        'server.address': '127.0.0.1',
        'server.port': aClient.attributes['server.port'],
        'rpc.status_code': 'OK',
      },
    );
    assert.equal(typeof aClient.attributes['server.port'], 'number');
    assert.deepEqual(
      { ...cServer.attributes },
      { 'rpc.system.name': 'rxchan', 'rpc.method': 'store/get', 'rpc.status_code': 'OK' },
    );
    for (const s of [aClient, bServer, bClient, cServer]) assert.equal(s.status.code, SpanStatusCode.UNSET);
    // Each server span lies within its client span (to the SDK's clock: spans anchor performance.now()
    // to Date.now(), a millisecond clock, each on its own).
    const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
    const within = (inner: ReadableSpan, outer: ReadableSpan) => {
      assert.ok(
        ms(inner.startTime) >= ms(outer.startTime) - 2,
        `${inner.name} starts within its client span`,
      );
      assert.ok(ms(inner.endTime) <= ms(outer.endTime) + 2, `${inner.name} ends within its client span`);
    };
    within(bServer, aClient);
    within(cServer, bClient);
  });

  it('marks failed calls with their code: the client span is an error; the server span when the fault is its own', async () => {
    await assert.rejects(front.lookup('missing'), { code: 'NOT_FOUND' });
    await assert.rejects(front.lookup('broken'), { code: 'INTERNAL' });
    await eventually(() => exporter.getFinishedSpans().length >= 10, 'ten spans');
    const spans = exporter.getFinishedSpans();
    const [notFoundServer, unknownServer] = byName(spans, 'store/get', SpanKind.SERVER);
    const [notFoundClient, unknownClient] = byName(spans, 'store/get', SpanKind.CLIENT);
    assert.equal(notFoundServer!.attributes['rpc.status_code'], 'NOT_FOUND');
    assert.equal(notFoundServer!.status.code, SpanStatusCode.UNSET, "NOT_FOUND is the caller's fault");
    assert.equal(notFoundServer!.attributes['error.type'], undefined);
    assert.equal(notFoundClient!.status.code, SpanStatusCode.ERROR);
    assert.equal(notFoundClient!.attributes['error.type'], 'NOT_FOUND');
    assert.equal(unknownServer!.status.code, SpanStatusCode.ERROR);
    assert.equal(unknownServer!.attributes['error.type'], 'INTERNAL');
    // The server's span has the real message; the caller got it masked (INTERNAL, an error id).
    assert.match(unknownServer!.status.message ?? '', /the disk is on fire/);
    assert.equal(unknownClient!.attributes['rpc.status_code'], 'INTERNAL');
    for (const s of byName(spans, 'front/lookup', SpanKind.CLIENT)) {
      assert.equal(s.status.code, SpanStatusCode.ERROR);
    }
  });

  it("ends a stream call's spans when the stream ends, and when the reader unsubscribes", async () => {
    const items: string[] = [];
    await new Promise<void>((resolve, reject) =>
      front.ticks(3).subscribe({ next: (t) => items.push(t), error: reject, complete: resolve }),
    );
    assert.deepEqual(items, ['ticks 0', 'ticks 1', 'ticks 2']);
    await eventually(() => exporter.getFinishedSpans().length >= 2, 'the stream spans');
    let spans = exporter.getFinishedSpans();
    const client = only(spans, 'front/ticks', SpanKind.CLIENT);
    const server = only(spans, 'front/ticks', SpanKind.SERVER);
    assert.equal(client.attributes['rpc.status_code'], 'OK');
    assert.equal(client.attributes['rxchan.stream'], true);
    assert.equal(server.attributes['rxchan.stream'], true);
    const ms = (s: ReadableSpan) => s.duration[0] * 1e3 + s.duration[1] / 1e6;
    assert.ok(ms(server) >= 8, `the server span covers the items (${ms(server)} ms)`);
    exporter.reset();

    const sub = front.ticks(1_000).subscribe();
    await sleep(30);
    assert.equal(exporter.getFinishedSpans().length, 0, 'nothing ended while the stream runs');
    sub.unsubscribe();
    await eventually(() => exporter.getFinishedSpans().length >= 2, 'the cancelled stream spans');
    spans = exporter.getFinishedSpans();
    assert.equal(only(spans, 'front/ticks', SpanKind.CLIENT).attributes['rpc.status_code'], 'CANCELLED');
    assert.equal(only(spans, 'front/ticks', SpanKind.SERVER).attributes['rpc.status_code'], 'CANCELLED');
  });

  it('traces local calls, also those that end before the call returns (a handler that returns at once, a refusal)', async () => {
    assert.equal(await c.system.ref<Store>('store').get('here'), 'value of here');
    await assert.rejects(c.system.ref<Store>('nobody').get('here'), { code: 'NOT_FOUND' });
    await eventually(() => exporter.getFinishedSpans().length >= 3, 'three spans');
    const spans = exporter.getFinishedSpans();
    const client = only(spans, 'store/get', SpanKind.CLIENT);
    const server = only(spans, 'store/get', SpanKind.SERVER);
    assert.equal(parentOf(server), client.spanContext().spanId);
    const refused = only(spans, 'nobody/get', SpanKind.CLIENT);
    assert.equal(refused.attributes['rpc.status_code'], 'NOT_FOUND');
    assert.equal(refused.status.code, SpanStatusCode.ERROR);
  });

  it('measures durations on both sides, calls by code, active calls and streams, connections and bytes', async () => {
    await front.lookup('k');
    await assert.rejects(front.lookup('missing'), { code: 'NOT_FOUND' });
    await eventually(
      () => b.system.stats().servedCalls === 0 && c.system.stats().servedCalls === 0,
      'every call to end',
    );
    const ofA = await a.reader.collect();
    const ofB = await b.reader.collect();
    const ofC = await c.reader.collect();
    assert.deepEqual(ofA.errors, []);
    const clientDurations = points(ofA.resourceMetrics, 'rpc.client.call.duration');
    const ok = JSON.stringify({
      'rpc.system.name': 'rxchan',
      'rpc.method': 'front/lookup',
      'rpc.status_code': 'OK',
    });
    assert.ok((clientDurations.get(ok) ?? 0) >= 2, 'A measured its calls to front/lookup that ended OK');
    const serverDurations = points(ofC.resourceMetrics, 'rpc.server.call.duration');
    const notFound = JSON.stringify({
      'rpc.system.name': 'rxchan',
      'rpc.method': 'store/get',
      'rpc.status_code': 'NOT_FOUND',
    });
    assert.ok((serverDurations.get(notFound) ?? 0) >= 1, 'C measured the NOT_FOUND it answered');
    assert.ok(points(ofB.resourceMetrics, 'rpc.server.call.duration').size > 0);
    assert.ok(points(ofB.resourceMetrics, 'rpc.client.call.duration').size > 0);

    const served = points(ofC.resourceMetrics, 'rxchan.server.calls');
    assert.ok((served.get(JSON.stringify({ 'rpc.status_code': 'OK' })) ?? 0) >= 1);
    assert.ok((served.get(JSON.stringify({ 'rpc.status_code': 'NOT_FOUND' })) ?? 0) >= 1);
    assert.equal(served.get(JSON.stringify({ 'rpc.status_code': 'OK' })), c.system.stats().callsServed.OK);
    const made = points(ofA.resourceMetrics, 'rxchan.client.calls');
    assert.equal(made.get(JSON.stringify({ 'rpc.status_code': 'OK' })), a.system.stats().callsMade.OK);
    for (const r of [ofA, ofB, ofC]) {
      assert.equal(sum(points(r.resourceMetrics, 'rxchan.client.active_calls')), 0);
      assert.equal(sum(points(r.resourceMetrics, 'rxchan.server.active_calls')), 0);
      assert.equal(sum(points(r.resourceMetrics, 'rxchan.active_streams')), 0);
    }
    assert.equal(sum(points(ofA.resourceMetrics, 'rxchan.connections')), 1, 'A: its connection to B');
    assert.equal(sum(points(ofB.resourceMetrics, 'rxchan.connections')), 2, 'B: from A, to C');
    const io = points(ofB.resourceMetrics, 'rxchan.network.io');
    assert.ok((io.get(JSON.stringify({ 'network.io.direction': 'receive' })) ?? 0) > 0);
    assert.ok((io.get(JSON.stringify({ 'network.io.direction': 'transmit' })) ?? 0) > 0);
  });

  it('counts active calls and streams while they run', async () => {
    const sub = front.ticks(1_000).subscribe();
    try {
      await eventually(() => b.system.stats().activeStreams === 1, 'the stream to run on B');
      const during = await b.reader.collect();
      assert.equal(sum(points(during.resourceMetrics, 'rxchan.active_streams')), 1);
      assert.equal(sum(points(during.resourceMetrics, 'rxchan.server.active_calls')), 1);
      await eventually(() => a.system.stats().activeStreams === 1, 'the stream to be read on A');
    } finally {
      sub.unsubscribe();
    }
    await eventually(
      () => a.system.stats().activeStreams === 0 && b.system.stats().activeStreams === 0,
      'the streams to end on both sides',
    );
  });
});
