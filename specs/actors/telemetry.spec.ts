/**
 * The OpenTelemetry interceptors without an SDK installed (this process registers none): calls work,
 * nothing is exported, no metadata is added, and the interceptors take their fast path (no span, no
 * end listener, the call passed on as it is). With providers passed explicitly: the trace context is
 * injected into a copy of the metadata. Names: made once per method, bounded.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { actor, callContext } from '../../src/actors/index.js';
import type { CallEnd, IncomingCall, OutgoingCall } from '../../src/actors/interceptors.js';
import { MAX_CACHED_METHODS, MethodNames, NameCache } from '../../src/actors/telemetry/names.js';
import { openTelemetry } from '../../src/actors/telemetry/open-telemetry.js';
import { MAX_METADATA_ENTRIES } from '../../src/actors/wire.js';
import { pair } from '../integration/actors-pair.js';

@actor('echo')
class Echo {
  metadata(): Record<string, string> {
    return { ...callContext().metadata };
  }
}

/** An IncomingCall for the interceptor alone; records the listeners it gets. */
function incoming(metadata: Record<string, string> = {}) {
  const listeners: ((end: CallEnd) => void)[] = [];
  const call = {
    context: { actor: 'echo', method: 'metadata', metadata } as unknown as IncomingCall['context'],
    args: [],
    receivedAt: performance.now(),
    onEnd: (l: (end: CallEnd) => void) => listeners.push(l),
  } satisfies IncomingCall;
  return { call, listeners };
}

const outgoing: OutgoingCall = Object.freeze({
  actor: 'echo',
  method: 'metadata',
  args: [],
  options: { metadata: { 'request-id': 'r1' } },
  peer: undefined,
});

describe('telemetry without an SDK', () => {
  it('lets calls through over TLS, adds no metadata, and exports nothing', async () => {
    const exporter = new InMemorySpanExporter();
    // A provider nobody registered: the systems must not find it.
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const p = await pair();
    try {
      await p.server.register(Echo);
      const echo = p.client.ref<Echo>('echo', p.peer);
      assert.deepEqual(await echo.metadata(), {});
      assert.deepEqual(await echo.withOptions({ metadata: { a: 'b' } }).metadata(), { a: 'b' });
      assert.equal(exporter.getFinishedSpans().length, 0);
      assert.equal(p.client.stats().callsMade.OK, 2);
    } finally {
      await p.close();
    }
  });

  it('takes the fast path: no end listener, the call passed on as it is', () => {
    const t = openTelemetry();
    const { call, listeners } = incoming({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    assert.equal(
      t.server(call, () => 'handled'),
      'handled',
    );
    assert.equal(listeners.length, 0);
    let passed: OutgoingCall | undefined;
    const result = t.client(outgoing, (c) => {
      passed = c;
      return { onEnd: () => assert.fail('no end listener') } as never;
    });
    assert.equal(passed, outgoing, 'the same object');
    assert.ok(result);
    assert.equal(typeof t.observe({ stats: () => assert.fail('not read') }), 'function');
  });
});

describe('telemetry with providers passed', () => {
  it('injects the trace context into a copy of the metadata, and ends the span on the call end', () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const t = openTelemetry({ tracerProvider, propagator: new W3CTraceContextPropagator() });
    let passed: OutgoingCall | undefined;
    let ended: ((end: CallEnd) => void) | undefined;
    t.client(outgoing, (c) => {
      passed = c;
      return { onEnd: (l: (end: CallEnd) => void) => (ended = l) } as never;
    });
    assert.notEqual(passed, outgoing);
    assert.deepEqual(outgoing.options.metadata, { 'request-id': 'r1' }, 'the caller’s metadata is untouched');
    const metadata = passed!.options.metadata!;
    assert.equal(metadata['request-id'], 'r1');
    assert.match(metadata.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.equal(exporter.getFinishedSpans().length, 0);
    ended!({ code: 'OK', stream: false });
    const [span] = exporter.getFinishedSpans();
    assert.equal(span!.name, 'echo/metadata');
    assert.equal(metadata.traceparent, `00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`);

    // The server side takes it as its parent.
    const { call, listeners } = incoming(metadata);
    t.server(call, () => undefined);
    listeners[0]!({ code: 'INTERNAL', stream: false });
    const server = exporter.getFinishedSpans()[1]!;
    assert.equal(server.parentSpanContext?.spanId, span!.spanContext().spanId);
    assert.equal(server.attributes['error.type'], 'INTERNAL');
  });

  it('sends a call whose metadata is full without the trace context (a callee would refuse it)', () => {
    const tracerProvider = new BasicTracerProvider();
    const t = openTelemetry({ tracerProvider, propagator: new W3CTraceContextPropagator() });
    const full: Record<string, string> = {};
    for (let i = 0; i < MAX_METADATA_ENTRIES; i++) full[`k${i}`] = 'v';
    const call = { ...outgoing, options: { metadata: full } };
    let passed: OutgoingCall | undefined;
    t.client(call, (c) => {
      passed = c;
      return { onEnd: () => {} } as never;
    });
    assert.equal(passed, call, 'passed on as it is');
  });

  it('ignores a malformed traceparent: the SERVER span is a root', () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const t = openTelemetry({ tracerProvider, propagator: new W3CTraceContextPropagator() });
    const { call, listeners } = incoming({ traceparent: 'not a trace' });
    t.server(call, () => undefined);
    listeners[0]!({ code: 'OK', stream: false });
    assert.equal(exporter.getFinishedSpans()[0]!.parentSpanContext, undefined);
  });
});

describe('telemetry names', () => {
  it('names a method "actor/method", a call through a passed ref by its method, a callback "callback"', () => {
    assert.equal(new MethodNames('store', 'get').name, 'store/get');
    assert.equal(new MethodNames('', 'get').name, 'get');
    assert.equal(new MethodNames('', '').name, 'callback');
  });

  it('makes the attributes of each end once', () => {
    const names = new MethodNames('store', 'get');
    assert.equal(names.measured('OK', true), names.measured('OK', true));
    assert.deepEqual(names.measured('NOT_FOUND', true), {
      'rpc.system.name': 'rxchan',
      'rpc.method': 'store/get',
      'rpc.status_code': 'NOT_FOUND',
    });
    assert.equal(names.measured('NOT_FOUND', false)['error.type'], 'NOT_FOUND');
  });

  it(`keeps at most ${MAX_CACHED_METHODS} methods`, () => {
    const cache = new NameCache();
    for (let i = 0; i < MAX_CACHED_METHODS + 10; i++) cache.get('a', `m${i}`);
    assert.equal(cache.get('a', 'm0'), cache.get('a', 'm0'), 'an early one is kept');
    const late = `m${MAX_CACHED_METHODS + 5}`;
    assert.notEqual(cache.get('a', late), cache.get('a', late), 'one beyond the bound is made per call');
    assert.equal(cache.get('a', late).name, `a/${late}`);
  });
});
