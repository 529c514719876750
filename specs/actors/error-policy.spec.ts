import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ErrorInfo,
  type ErrorPolicy,
  errorToLocal,
  errorToWire,
  maskedMessage,
} from '../../src/actors/error-policy.js';
import { RpcError, toRpcError } from '../../src/actors/errors.js';
import { transportError } from '../../src/transport/errors.js';

/** A policy whose reports are kept. */
function policy(over: Partial<ErrorPolicy['config']> = {}, mapError?: ErrorPolicy['mapError']) {
  const reports: { err: unknown; info: ErrorInfo | undefined }[] = [];
  const p: ErrorPolicy = {
    config: { exposeErrorMessages: false, exposeStackTraces: false, ...over },
    mapError,
    report: (err, info) => reports.push({ err, info }),
  };
  return { p, reports };
}

/** What a caller makes of a wire error. */
function received(e: ReturnType<typeof errorToWire>): RpcError {
  return toRpcError(transportError('CHANNEL_ERROR', e.message, { remoteCode: e.code, details: e.details }));
}

class OutOfStockError extends Error {
  readonly code = 'OUT_OF_STOCK';
  constructor(readonly sku: string) {
    super(`sku ${sku} is out of stock (warehouse /srv/wh-3)`);
  }
}

describe('errorToWire', () => {
  it('sends an RpcError as it is: code, message, reason, details; reports nothing', () => {
    const { p, reports } = policy();
    const thrown = new RpcError('FAILED_PRECONDITION', 'out of stock', {
      reason: 'OUT_OF_STOCK',
      details: { sku: 'A-1' },
    });
    const wire = errorToWire(thrown, p);
    assert.deepEqual(wire, {
      code: 'FAILED_PRECONDITION',
      message: 'out of stock',
      details: { details: { sku: 'A-1' }, reason: 'OUT_OF_STOCK' },
    });
    const back = received(wire);
    assert.equal(back.code, 'FAILED_PRECONDITION');
    assert.equal(back.reason, 'OUT_OF_STOCK');
    assert.deepEqual(back.details, { sku: 'A-1' });
    assert.equal(back.errorId, undefined);
    assert.equal(reports.length, 0);
  });

  it("sends rxchan's own TransportErrors as toRpcError maps them, unmasked", () => {
    const { p, reports } = policy();
    const wire = errorToWire(transportError('ENCODE_ERROR', 'cannot encode a symbol'), p);
    assert.equal(wire.code, 'INVALID_ARGUMENT');
    assert.equal(wire.message, 'cannot encode a symbol');
    assert.equal(reports.length, 0);
  });

  it('masks anything else: INTERNAL, a generic message with a fresh id, the original reported with it', () => {
    const { p, reports } = policy();
    const thrown = new Error('open /etc/secret failed');
    const where = { actor: 'files', method: 'read' };
    const wire = errorToWire(thrown, p, where);
    assert.equal(wire.code, 'INTERNAL');
    const id = wire.details?.id;
    assert.ok(typeof id === 'string' && /^[A-Za-z0-9_-]{22}$/.test(id), String(id));
    assert.equal(wire.message, maskedMessage(id));
    assert.equal(wire.details?.stack, undefined);
    assert.deepEqual(reports, [{ err: thrown, info: { actor: 'files', method: 'read', errorId: id } }]);
    assert.notEqual(errorToWire(thrown, p).details?.id, id, 'every masked error has its own id');
    assert.equal(errorToWire('a string', p).code, 'INTERNAL');
    const back = received(wire);
    assert.equal(back.errorId, id);
    assert.equal(back.message, `internal error (id ${id})`);
  });

  it('exposeErrorMessages shows the message (still INTERNAL, with an id, reported); exposeStackTraces the stack', () => {
    const { p, reports } = policy({ exposeErrorMessages: true, exposeStackTraces: true });
    const wire = errorToWire(new TypeError('boom'), p);
    assert.equal(wire.code, 'INTERNAL');
    assert.equal(wire.message, 'boom');
    assert.match(wire.details?.stack ?? '', /TypeError: boom/);
    assert.equal(reports[0]?.info?.errorId, wire.details?.id);
    const shown = errorToWire(new RpcError('ABORTED', 'conflict'), p);
    assert.match(shown.details?.stack ?? '', /RpcError: conflict/);
  });

  it('mapError turns an application error into a domain error; undefined or a throw masks it', () => {
    const map = (err: unknown) =>
      err instanceof OutOfStockError
        ? new RpcError('FAILED_PRECONDITION', 'out of stock', {
            reason: err.code,
            details: { sku: err.sku },
          })
        : undefined;
    const { p, reports } = policy({}, map);
    const wire = errorToWire(new OutOfStockError('A-1'), p);
    assert.deepEqual(wire, {
      code: 'FAILED_PRECONDITION',
      message: 'out of stock',
      details: { details: { sku: 'A-1' }, reason: 'OUT_OF_STOCK' },
    });
    assert.equal(errorToWire(new Error('other'), p).code, 'INTERNAL');
    assert.equal(reports.length, 1);
    const broken = policy({}, () => {
      throw new Error('mapper broke');
    });
    assert.equal(errorToWire(new OutOfStockError('A-1'), broken.p).code, 'INTERNAL');
    assert.deepEqual(
      broken.reports.map((r) => (r.err as Error).message),
      ['mapper broke', 'sku A-1 is out of stock (warehouse /srv/wh-3)'],
    );
  });

  it('never throws: a throwing onError does not stop the answer', () => {
    const p: ErrorPolicy = {
      config: { exposeErrorMessages: false, exposeStackTraces: false },
      mapError: undefined,
      report: () => {
        throw new Error('onError broke');
      },
    };
    assert.equal(errorToWire(new Error('x'), p).code, 'INTERNAL');
  });

  it('keeps the id of an RpcError that has one (an error forwarded from another node)', () => {
    const { p } = policy();
    const forwarded = new RpcError('INTERNAL', maskedMessage('far-id'), { errorId: 'far-id' });
    assert.deepEqual(errorToWire(forwarded, p).details, { id: 'far-id' });
  });

  it('leaves out a reason or id out of bounds', () => {
    const { p } = policy();
    const long = new RpcError('ABORTED', 'x', { reason: 'R'.repeat(129), errorId: 'i'.repeat(65) });
    assert.equal(errorToWire(long, p).details, undefined);
  });
});

describe('errorToLocal', () => {
  it('keeps RpcErrors, maps with mapError, else INTERNAL with the message and the cause', () => {
    const rpc = new RpcError('NOT_FOUND', 'x');
    assert.equal(errorToLocal(rpc, undefined), rpc);
    const plain = new Error('/srv/local is fine locally');
    const local = errorToLocal(plain, undefined);
    assert.equal(local.code, 'INTERNAL');
    assert.equal(local.message, plain.message);
    assert.equal(local.cause, plain);
    const mapped = errorToLocal(new OutOfStockError('B'), (e) =>
      e instanceof OutOfStockError
        ? new RpcError('FAILED_PRECONDITION', 'oos', { reason: e.code })
        : undefined,
    );
    assert.equal(mapped.reason, 'OUT_OF_STOCK');
    const thrown = errorToLocal(plain, () => {
      throw new Error('mapper broke');
    });
    assert.equal(thrown.code, 'INTERNAL');
  });
});
