/**
 * A cluster ref is a ref: deadlines, cancellation, streams (unsubscribing cancels on the server),
 * callbacks and tracing work through it as through a direct ref, for unkeyed and keyed actors alike.
 * Two members over TLS on 127.0.0.1 (static membership), the first in turn stopped for the tracing
 * spec so that the call moves on: its trace still has one CLIENT span, parent of the SERVER span.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { firstValueFrom, interval, map, Observable, take, toArray } from 'rxjs';
import { callContext } from '../../src/actors/context.js';
import { isRpcError } from '../../src/actors/errors.js';
import type { ActorSystem } from '../../src/actors/system.js';
import { Identity } from '../../src/auth/identity.js';
import { clusterClient, grantOf, type Node, startNode } from './nodes.js';

/** What the servers saw: aborted handlers, torn-down streams. */
const seen = { aborted: [] as string[], tornDown: 0 };

function feedOf(tag: string) {
  return class {
    slow(ms: number): Promise<string> {
      const { signal } = callContext();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => resolve(tag), ms);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          seen.aborted.push(String((signal.reason as { code?: string })?.code));
          reject(signal.reason);
        });
      });
    }
    ticks(): Observable<string> {
      return new Observable<string>((sub) => {
        const s = interval(5)
          .pipe(map((i) => `${tag}${i}`))
          .subscribe(sub);
        return () => {
          s.unsubscribe();
          seen.tornDown++;
        };
      });
    }
    async callBack(onItem: (item: string) => Promise<string>): Promise<string> {
      return `${tag}:${await onItem('x')}`;
    }
    whoami(): string {
      return tag;
    }
  };
}

interface Feed {
  slow(ms: number): string;
  ticks(): Observable<string>;
  callBack(onItem: (item: string) => Promise<string>): string;
  whoami(): string;
}

const systems: ActorSystem[] = [];
const exporter = new InMemorySpanExporter();
const contextManager = new AsyncLocalStorageContextManager();

describe('calls through cluster refs (TLS on 127.0.0.1, static membership)', () => {
  let nodes: Node[];
  let client: ActorSystem;

  before(async () => {
    contextManager.enable();
    context.setGlobalContextManager(contextManager);
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    nodes = await Promise.all(
      ['a', 'b'].map((tag) => {
        const identity = Identity.generate();
        return startNode(
          systems,
          { feed: feedOf(tag), kfeed: [feedOf(tag), { keyed: true }] },
          { grant: grantOf(identity), identity },
        );
      }),
    );
    client = clusterClient(
      systems,
      nodes.map((n) => n.row),
    );
  });

  after(async () => {
    await Promise.all(systems.map((s) => s.close()));
    trace.disable();
    propagation.disable();
    context.disable();
  });

  for (const keyed of [false, true]) {
    const ref = () => (keyed ? client.ref<Feed>('kfeed', 'user-7') : client.clusterRef<Feed>('feed'));
    const what = keyed ? 'keyed' : 'unkeyed';

    it(`${what}: a deadline fails the call and aborts the handler on the member`, async () => {
      seen.aborted.length = 0;
      await assert.rejects(ref().withOptions({ timeoutMs: 50 }).slow(5_000), (e) =>
        isRpcError(e, 'DEADLINE_EXCEEDED'),
      );
      await waitUntil(() => seen.aborted.length === 1);
      assert.deepEqual(seen.aborted, ['DEADLINE_EXCEEDED']);
    });

    it(`${what}: cancelling the call aborts the handler on the member`, async () => {
      seen.aborted.length = 0;
      const controller = new AbortController();
      const call = ref().withOptions({ signal: controller.signal }).slow(5_000);
      setTimeout(() => controller.abort(), 30);
      await assert.rejects(call, (e) => isRpcError(e, 'CANCELLED'));
      await waitUntil(() => seen.aborted.length === 1);
      assert.deepEqual(seen.aborted, ['CANCELLED']);
    });

    it(`${what}: a stream's items arrive, and unsubscribing tears it down on the member`, async () => {
      const before = seen.tornDown;
      const items = await firstValueFrom(ref().ticks().pipe(take(3), toArray()));
      assert.equal(items.length, 3);
      assert.match(items[0]!, /^[ab]0$/);
      await waitUntil(() => seen.tornDown === before + 1);
    });

    it(`${what}: a callback passed as an argument is called back`, async () => {
      const answer = await ref().callBack(async (item) => `${item}!`);
      assert.match(answer, /^[ab]:x!$/);
    });
  }

  it('tracing: one CLIENT span for a call that moved on from a stopped member, parent of the SERVER span', async () => {
    // The next unkeyed call starts at some member; stop `a`, then call until a call moved on from it.
    await nodes[0]!.system.close();
    exporter.reset();
    const tracer = trace.getTracer('spec');
    const parent = tracer.startSpan('spec.parent');
    const feed = client.clusterRef<Feed>('feed');
    for (let i = 0; i < 2; i++) {
      assert.equal(await context.with(trace.setSpan(context.active(), parent), () => feed.whoami()), 'b');
    }
    parent.end();
    const spans = exporter.getFinishedSpans();
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
    assert.equal(clients.length, 2, 'one CLIENT span per call, not per attempt');
    assert.equal(servers.length, 2);
    for (const c of clients) {
      assert.equal(c.spanContext().traceId, parent.spanContext().traceId);
      assert.equal(c.parentSpanContext?.spanId, parent.spanContext().spanId);
      const server = servers.find((s) => s.parentSpanContext?.spanId === c.spanContext().spanId);
      assert.ok(server, 'the SERVER span is a child of the CLIENT span');
    }
  });
});

async function waitUntil(ok: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
