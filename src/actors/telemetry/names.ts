/**
 * What rxchan's spans and measurements are called, following the OpenTelemetry semantic conventions
 * for RPC (semconv 1.45, where the RPC conventions are stable): `rpc.system.name` "rxchan", `rpc.method`
 * the fully-qualified method "actor/method" (also the span name), `rpc.status_code` how the call ended
 * ('OK' or the RpcError code), `error.type` the code when the call failed. The deprecated
 * `rpc.system`, `rpc.service` and `rpc.grpc.status_code` are not set.
 *
 * The names of each actor and method, and the metric attributes of each way it ends, are made once and
 * kept (up to {@link MAX_CACHED_METHODS} methods), so a call allocates no string or attribute set for them.
 */
import type { Attributes } from '@opentelemetry/api';
import type { EndCode } from '../counters.js';

export const RPC_SYSTEM_NAME = 'rpc.system.name';
export const RPC_METHOD = 'rpc.method';
export const RPC_STATUS_CODE = 'rpc.status_code';
export const ERROR_TYPE = 'error.type';
export const SERVER_ADDRESS = 'server.address';
export const SERVER_PORT = 'server.port';
/** True on the span of a call whose result was a stream (its span ends when the stream does). */
export const RXCHAN_STREAM = 'rxchan.stream';
/** The value of `rpc.system.name`. */
export const SYSTEM_NAME = 'rxchan';

/** Actors and methods whose names are kept; beyond, each call makes its own (a peer may make up names). */
export const MAX_CACHED_METHODS = 1024;

/** Codes that make a SERVER span an error (the server's fault, as for gRPC); a CLIENT span: any but OK. */
const SERVER_ERRORS: ReadonlySet<EndCode> = new Set<EndCode>([
  'UNKNOWN',
  'DEADLINE_EXCEEDED',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
]);

/** True when a call that ended with `code` makes its span an error (status ERROR, `error.type`). */
export function isSpanError(code: EndCode, server: boolean): boolean {
  return code !== 'OK' && (!server || SERVER_ERRORS.has(code));
}

/** The names of one method of one actor, and its attribute sets. */
export class MethodNames {
  /** The span name and `rpc.method`: "actor/method"; a call through a passed ref: "method"; a callback: "callback". */
  readonly name: string;
  /** The attributes a span starts with. */
  readonly attributes: Attributes;
  private readonly client: Partial<Record<EndCode, Attributes>> = {};
  private readonly server: Partial<Record<EndCode, Attributes>> = {};

  constructor(actor: string, method: string) {
    this.name = actor === '' ? (method === '' ? 'callback' : method) : `${actor}/${method}`;
    this.attributes = Object.freeze({ [RPC_SYSTEM_NAME]: SYSTEM_NAME, [RPC_METHOD]: this.name });
  }

  /** The attributes of a duration measured on one side of a call that ended with `code` (made once). */
  measured(code: EndCode, server: boolean): Attributes {
    const table = server ? this.server : this.client;
    let attributes = table[code];
    if (attributes === undefined) {
      attributes = isSpanError(code, server)
        ? { ...this.attributes, [RPC_STATUS_CODE]: code, [ERROR_TYPE]: code }
        : { ...this.attributes, [RPC_STATUS_CODE]: code };
      table[code] = Object.freeze(attributes);
    }
    return attributes;
  }
}

/** {@link MethodNames} by actor and method. */
export class NameCache {
  private readonly actors = new Map<string, Map<string, MethodNames>>();
  private size = 0;

  get(actor: string, method: string): MethodNames {
    let methods = this.actors.get(actor);
    const known = methods?.get(method);
    if (known !== undefined) return known;
    const names = new MethodNames(actor, method);
    if (this.size >= MAX_CACHED_METHODS) return names;
    if (methods === undefined) {
      methods = new Map();
      this.actors.set(actor, methods);
    }
    methods.set(method, names);
    this.size++;
    return names;
  }
}
