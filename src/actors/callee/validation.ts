/**
 * A method's schemas (`@method({ params, result })`), applied around its handler: any Standard Schema
 * (zod, valibot, arktype, ...; https://standardschema.dev). The arguments are checked after the server
 * interceptors and before the handler, which gets the schemas' outputs (defaults and transforms
 * applied); invalid ones are answered INVALID_ARGUMENT with the issues in `details`, and the handler
 * does not run. The result (a unary value, or each item of a stream result) is checked after the
 * handler: an invalid one is the callee's bug, answered INTERNAL without the issues, and reported with
 * them to the system's `onError`.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { concatMap, from, isObservable, type Observable, of } from 'rxjs';
import { label } from '../context.js';
import { rpcError } from '../errors.js';
import { isStreamLike, isThenable } from '../invoke.js';

/** One issue as the caller gets it in `details.issues`: `path[0]` is the argument's index. */
export interface ValidationIssue {
  readonly message: string;
  readonly path: readonly (string | number)[];
}

type Result = StandardSchemaV1.Result<unknown>;

/** Checks the calls of one method (a HandlerInvoker: see context.ts). */
export class MethodValidator {
  private readonly what: string;

  constructor(
    actor: string,
    method: string,
    private readonly params: readonly StandardSchemaV1[] | undefined,
    private readonly result: StandardSchemaV1 | undefined,
    private readonly report: (err: unknown) => void,
  ) {
    this.what = label(actor, method);
  }

  /** `self.fn(...args)` with the arguments and the result checked. Throws or rejects with why not. */
  invoke(fn: Function, self: unknown, args: readonly unknown[]): unknown {
    if (this.params === undefined) return this.checkResult(fn.apply(self, args));
    const checked = this.checkArgs(this.params, args);
    if (isThenable(checked)) return checked.then((a) => this.checkResult(fn.apply(self, a)));
    return this.checkResult(fn.apply(self, checked));
  }

  /** The schemas' outputs, or INVALID_ARGUMENT with every issue (a promise if a schema is async). */
  private checkArgs(
    params: readonly StandardSchemaV1[],
    args: readonly unknown[],
  ): unknown[] | Promise<unknown[]> {
    if (args.length > params.length) {
      throw rpcError(
        'INVALID_ARGUMENT',
        `${this.what} takes at most ${params.length} argument(s), got ${args.length}`,
      );
    }
    const results: (Result | Promise<Result>)[] = params.map((schema, i) =>
      schema['~standard'].validate(args[i]),
    );
    if (!results.some(isThenable)) return this.outputs(results as Result[]);
    return Promise.all(results).then((settled) => this.outputs(settled));
  }

  private outputs(results: readonly Result[]): unknown[] {
    const issues: ValidationIssue[] = [];
    const values: unknown[] = [];
    for (const [i, r] of results.entries()) {
      if (r.issues) for (const issue of r.issues) issues.push(issueOf(issue, i));
      else values.push(r.value);
    }
    if (issues.length === 0) return values;
    const first = issues[0]!;
    const where = first.path.length > 1 ? ` at ${first.path.slice(1).join('.')}` : '';
    throw rpcError(
      'INVALID_ARGUMENT',
      `${this.what}: argument ${first.path[0]}${where}: ${first.message}` +
        (issues.length > 1 ? ` (and ${issues.length - 1} more issue(s))` : ''),
      { details: { issues } },
    );
  }

  /** The handler's result, checked against `result` (a stream's items one by one). */
  private checkResult(value: unknown): unknown {
    const schema = this.result;
    if (schema === undefined) return value;
    if (isThenable(value)) return value.then((v) => this.checkResult(v));
    if (isStreamLike(value)) {
      return isObservable(value) ? this.checkItems(value, schema) : this.checkIterable(value, schema);
    }
    return this.checkOne(schema, value, 'result');
  }

  private checkOne(schema: StandardSchemaV1, value: unknown, what: string): unknown {
    const r = schema['~standard'].validate(value);
    if (isThenable(r)) return r.then((settled) => this.resultOf(settled, what));
    return this.resultOf(r, what);
  }

  private resultOf(r: Result, what: string): unknown {
    if (!r.issues) return r.value;
    const issues = r.issues.map((issue) => issueOf(issue, undefined));
    this.report(
      rpcError('INTERNAL', `${this.what}: the ${what} does not match its schema`, { details: { issues } }),
    );
    throw rpcError('INTERNAL', `${this.what}: the ${what} does not match its schema`);
  }

  private checkItems(source: Observable<unknown>, schema: StandardSchemaV1): Observable<unknown> {
    return source.pipe(
      concatMap((item) => {
        const checked = this.checkOne(schema, item, 'stream item');
        return isThenable(checked) ? from(checked) : of(checked);
      }),
    );
  }

  private async *checkIterable(
    source: AsyncIterable<unknown>,
    schema: StandardSchemaV1,
  ): AsyncIterable<unknown> {
    for await (const item of source) yield await this.checkOne(schema, item, 'stream item');
  }
}

function issueOf(issue: StandardSchemaV1.Issue, argument: number | undefined): ValidationIssue {
  const path: (string | number)[] = argument === undefined ? [] : [argument];
  for (const segment of issue.path ?? []) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    path.push(typeof key === 'number' ? key : String(key));
  }
  return { message: String(issue.message), path };
}
