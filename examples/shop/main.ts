/**
 * Shop: what a team needs to run a service, over mutual TLS 1.3 on 127.0.0.1, in one process (a server
 * system and a client system, each with a fresh identity).
 *
 * Shows: interceptors on both sides (the client adds a request id to every call's metadata; the server
 * logs each call's caller, method, request id and final code); validation with zod (a bad argument is
 * INVALID_ARGUMENT with the schema's issues, before the handler runs); a domain error whose code, reason
 * and details reach the caller; an unexpected error that reaches the caller masked (INTERNAL and an
 * error id) while the server's onError gets the full error under the same id; and OpenTelemetry: with an
 * SDK installed (here an in-memory exporter), each call is a CLIENT span and a SERVER span of one
 * trace, carried across the connection in the call's metadata (`traceparent`).
 *
 * Run: `node dist/examples/shop/main.js`. Exits 0 on success (see examples/lib/run.ts).
 */
import 'reflect-metadata';
import { context, propagation, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  ActorSystem,
  type ErrorInfo,
  Identity,
  type Interceptors,
  isRpcError,
  type Peer,
  type RpcError,
} from '../../src/index.js';
import { check, type Log, runExample } from '../lib/run.js';
import { Desk, Inventory } from './inventory.js';

async function main(log: Log): Promise<void> {
  // An OpenTelemetry SDK, as an application installs one (rxchan itself depends on the API only).
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const telemetry = { tracerProvider };

  const serverId = Identity.generate();
  const clientId = Identity.generate();
  const masked: { err: unknown; info: ErrorInfo }[] = [];

  // The server logs every call it serves, when it ends.
  const accessLog: Interceptors = {
    server: (call, next) => {
      const { caller, actor, method, metadata } = call.context;
      call.onEnd((end) =>
        log(
          `server: ${metadata['request-id'] ?? '-'} ${caller.name ?? 'local'} ${actor}.${method} -> ${end.code}`,
        ),
      );
      return next();
    },
  };
  const server = new ActorSystem({
    identity: serverId,
    authorizedKeys: [{ key: clientId.id, name: 'client' }],
    interceptors: [accessLog],
    telemetry,
    onError: (err, info) => {
      if (info === undefined) throw err;
      masked.push({ err, info });
    },
  });
  await server.register(Inventory);
  await server.register(Desk);
  Desk.inventory = server.ref<Inventory>('inventory');
  const { host, port } = await server.listen();
  log(`server listening on ${host}:${port}`);

  // The client gives every call a request id.
  let next = 0;
  const requestIds: Interceptors = {
    client: (call, send) =>
      send({
        ...call,
        options: { ...call.options, metadata: { ...call.options.metadata, 'request-id': `r-${++next}` } },
      }),
  };
  const client = new ActorSystem({ identity: clientId, interceptors: [requestIds], telemetry });
  const peer: Peer = { host, port, key: serverId.id };
  try {
    const desk = client.ref<Desk>('desk', peer);
    const inventory = client.ref<Inventory>('inventory', peer);

    log(`order('pen', 2): ${await desk.order('pen', 2)}`);

    const bad = await failure(inventory.reserve('pen', -1));
    check(isRpcError(bad, 'INVALID_ARGUMENT'), `reserve('pen', -1) gave ${String(bad)}`);
    const issue = (bad.details as { issues: { path: unknown[]; message: string }[] }).issues[0]!;
    log(`reserve('pen', -1) -> ${bad.code}, issue at argument ${String(issue.path[0])}: ${issue.message}`);

    const out = await failure(inventory.reserve('ink', 1));
    check(isRpcError(out, 'FAILED_PRECONDITION'), `reserve('ink', 1) gave ${String(out)}`);
    log(`reserve('ink', 1) -> ${out.code} reason ${out.reason} details ${JSON.stringify(out.details)}`);

    const hidden = await failure(inventory.audit());
    check(isRpcError(hidden, 'INTERNAL') && hidden.errorId !== undefined, `audit() gave ${String(hidden)}`);
    check(!hidden.message.includes('/srv/'), 'the file path reached the caller');
    const report = masked.find((m) => m.info.errorId === hidden.errorId);
    check(report !== undefined, "the server's onError did not get the error under the caller's id");
    log(`audit() -> ${hidden.code} "${hidden.message.replace(hidden.errorId!, '<id>')}"`);
    log(
      `server onError, same id: ${(report.err as Error).message.replace(/audit-r-\d+/, 'audit-<request>')}`,
    );

    // The spans of order(): client -> desk (server) -> desk's call (client) -> inventory (server).
    const spans = exporter.getFinishedSpans();
    const order = spans.find((s) => s.name === 'desk/order' && s.kind === SpanKind.CLIENT);
    check(order !== undefined, 'no client span for desk/order');
    const trace = spans.filter((s) => s.spanContext().traceId === order.spanContext().traceId);
    const kinds = trace.map((s) => `${s.name} ${SpanKind[s.kind]}`).sort();
    check(kinds.length === 4, `the order's trace has ${kinds.length} spans: ${kinds.join(', ')}`);
    log(`one trace for order(): ${kinds.join(', ')}`);
  } finally {
    await client.close();
    await server.close();
    await tracerProvider.shutdown();
    contextManager.disable();
  }
}

/** The RpcError `call` failed with (it must fail). */
async function failure(call: PromiseLike<unknown>): Promise<RpcError> {
  try {
    await call;
  } catch (err) {
    if (isRpcError(err)) return err;
    throw err;
  }
  throw new Error('the call succeeded');
}

runExample('shop', main);
