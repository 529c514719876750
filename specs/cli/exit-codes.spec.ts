/** Exit statuses of failed calls: one per RpcError code, none colliding with the CLI's own. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
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

  it('README.md lists the same status for every code', () => {
    // dist/specs/cli/exit-codes.spec.js -> the repository root is three levels up.
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const listed = new Map<string, number>();
    for (const m of readme.matchAll(/\| `([A-Z_]+)` \| (\d+) (?=\|)/g)) listed.set(m[1]!, Number(m[2]));
    for (const code of Object.values(RpcErrorCode)) assert.equal(listed.get(code), exitCodeFor(code), code);
  });
});
