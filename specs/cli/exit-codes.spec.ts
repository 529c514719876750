/** Exit statuses of failed calls: one per RpcError code, none colliding with the CLI's own. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RpcErrorCode, rpcError } from '../../src/actors/errors.js';
import { EXIT_INTERRUPTED, exitCodeFor, reportCallError } from '../../src/cli/exit-codes.js';
import { transportError } from '../../src/transport/errors.js';

describe('cli exit codes', () => {
  it('gives every RpcError code its own status, 10 + its gRPC number, clear of 0, 1, 2 and 130', () => {
    const statuses = Object.values(RpcErrorCode).map(exitCodeFor);
    assert.equal(new Set(statuses).size, statuses.length);
    for (const s of statuses) assert.ok(s > 10 && s < 27 && s !== EXIT_INTERRUPTED, String(s));
    assert.equal(exitCodeFor('UNAUTHENTICATED'), 26);
    assert.equal(exitCodeFor('SOMETHING_NEW'), exitCodeFor('UNKNOWN'));
  });

  it('prints CODE: message, then details as JSON; a transport error as the RpcError it maps to', () => {
    let out = '';
    const write = (s: string) => {
      out += s;
    };
    assert.equal(reportCallError(rpcError('NOT_FOUND', 'no actor named x', { details: [1n] }), write), 15);
    assert.equal(out, 'NOT_FOUND: no actor named x\ndetails: [{"$bigint":"1"}]\n');
    out = '';
    assert.equal(reportCallError(transportError('CONNECTION_LOST', 'gone'), write), 24);
    assert.equal(out, 'UNAVAILABLE: gone\n');
  });
});
