import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRpcError, isRpcErrorCode, RpcErrorCode, rpcError, toRpcError } from '../../src/actors/errors.js';
import { TransportErrorCode, transportError } from '../../src/transport/errors.js';

describe('RpcError', () => {
  it("has gRPC's sixteen error codes, each its own name", () => {
    assert.deepEqual(Object.keys(RpcErrorCode).sort(), [
      'ABORTED',
      'ALREADY_EXISTS',
      'CANCELLED',
      'DATA_LOSS',
      'DEADLINE_EXCEEDED',
      'FAILED_PRECONDITION',
      'INTERNAL',
      'INVALID_ARGUMENT',
      'NOT_FOUND',
      'OUT_OF_RANGE',
      'PERMISSION_DENIED',
      'RESOURCE_EXHAUSTED',
      'UNAUTHENTICATED',
      'UNAVAILABLE',
      'UNIMPLEMENTED',
      'UNKNOWN',
    ]);
    for (const [k, v] of Object.entries(RpcErrorCode)) assert.equal(k, v);
    assert.ok(isRpcErrorCode('NOT_FOUND'));
    assert.ok(!isRpcErrorCode('STREAM_RESET'));
  });

  it('carries code, details, reason and name; isRpcError matches on code', () => {
    const e = rpcError('INVALID_ARGUMENT', 'bad divisor', { details: { divisor: 0 }, reason: 'ZERO' });
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'RpcError');
    assert.deepEqual(e.details, { divisor: 0 });
    assert.equal(e.reason, 'ZERO');
    assert.equal(e.errorId, undefined);
    assert.ok(isRpcError(e, 'INVALID_ARGUMENT'));
    assert.ok(!isRpcError(e, 'INTERNAL'));
    assert.ok(!isRpcError(new Error('x')));
  });
});

describe('toRpcError', () => {
  it('keeps an RpcError, wraps anything else as the fallback with its message', () => {
    const e = rpcError('NOT_FOUND', 'x');
    assert.equal(toRpcError(e), e);
    const plain = toRpcError(new TypeError('nope'));
    assert.equal(plain.code, 'UNKNOWN');
    assert.equal(plain.message, 'nope');
    assert.ok(plain.cause instanceof TypeError);
    assert.equal(toRpcError('text', 'UNAVAILABLE').code, 'UNAVAILABLE');
  });

  it('maps every transport code to an RpcError code', () => {
    for (const code of Object.values(TransportErrorCode)) {
      const mapped = toRpcError(transportError(code, 'm'));
      assert.ok(isRpcErrorCode(mapped.code), `${code} -> ${mapped.code}`);
    }
    const cases: [TransportErrorCode, string][] = [
      ['CONNECTION_LOST', 'UNAVAILABLE'],
      ['SESSION_CLOSED', 'UNAVAILABLE'],
      ['GO_AWAY', 'UNAVAILABLE'],
      ['KEEPALIVE_TIMEOUT', 'UNAVAILABLE'],
      ['CHANNEL_CANCELLED', 'CANCELLED'],
      ['MESSAGE_TOO_LARGE', 'RESOURCE_EXHAUSTED'],
      ['ENCODE_ERROR', 'INVALID_ARGUMENT'],
      ['UNAUTHENTICATED', 'UNAUTHENTICATED'],
      ['DECODE_ERROR', 'INTERNAL'],
    ];
    for (const [from, to] of cases) assert.equal(toRpcError(transportError(from, 'm')).code, to, from);
  });

  it("turns a CHANNEL_ERROR into the peer's error: code, message, details, reason, id, stack", () => {
    const wire = transportError('CHANNEL_ERROR', 'no actor named x', {
      remoteCode: 'NOT_FOUND',
      details: { details: { name: 'x' }, reason: 'NO_ACTOR', id: 'abc', stack: 'Error: at remote' },
    });
    const e = toRpcError(wire);
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(e.message, 'no actor named x');
    assert.deepEqual(e.details, { name: 'x' });
    assert.equal(e.reason, 'NO_ACTOR');
    assert.equal(e.errorId, 'abc');
    assert.equal(e.remoteStack, 'Error: at remote');
    const unknown = toRpcError(transportError('CHANNEL_ERROR', 'm', { remoteCode: 'SOMETHING_ELSE' }));
    assert.equal(unknown.code, 'UNKNOWN');
  });
});
