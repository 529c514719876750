/**
 * A foreign TLS 1.3 client (Debian's `openssl s_client`) against our listener: without an authorized
 * certificate it must get no ACCEPT and no multiplexer traffic, only a REJECT frame, and be closed.
 * With an authorized certificate (the control that shows this setup can see application data), it
 * gets ACCEPT and what the server writes after it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CertificateMaterial, Identity, makeCertificate } from '../../../src/auth/index.js';
import {
  decodePrelude,
  encodeAccept,
  encodeHello,
  type Listener,
  listenTls,
  RejectReason,
} from '../../../src/transport/connection/index.js';
import { closeAll, refusals, until } from './helpers.js';

const OPENSSL = '/usr/bin/openssl';
const missing = !existsSync(OPENSSL);
if (missing) console.log(`# skipping openssl interop: ${OPENSSL} not found`);

/** Runs s_client until it exits (or kills it after 10 s), sending `input` once connected. */
function sClient(port: number, files?: { cert: string; key: string }, input?: Uint8Array) {
  return new Promise<{ stdout: Buffer; exited: boolean }>((resolve) => {
    const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-quiet'];
    if (files) args.push('-cert', files.cert, '-key', files.key);
    const child = spawn(OPENSSL, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    // stdin stays open: s_client must end because the server closed, not because its input ended.
    if (input) child.stdin.write(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (_code, signal) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ stdout: Buffer.concat(out), exited: signal === null });
    });
  });
}

describe('openssl s_client against a listener', { skip: missing }, () => {
  const server = Identity.generate();
  const alice = Identity.generate();
  let dir: string;
  let listener: Listener;
  const r = refusals();
  const write = async (name: string, m: CertificateMaterial) => {
    const cert = join(dir, `${name}.crt`);
    const key = join(dir, `${name}.key`);
    await writeFile(cert, m.certPem);
    await writeFile(key, m.keyPem, { mode: 0o600 });
    return { cert, key };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxchan-openssl-'));
    listener = await listenTls(
      { identity: server, authorizedKeys: [{ key: alice.id, name: 'alice' }], onRefused: r.onRefused },
      (c) => {
        c.socket.end('multiplexer would start here');
      },
    );
  });
  after(async () => {
    await closeAll(listener);
    await rm(dir, { recursive: true, force: true });
  });

  it('without a certificate: a REJECT (NO_CERTIFICATE), nothing else, and closed', async () => {
    const { stdout, exited } = await sClient(listener.port, undefined, encodeHello());
    assert.ok(exited, 's_client ended because the server closed');
    const frame = decodePrelude(stdout); // throws unless stdout is exactly one prelude frame
    assert.equal(frame.kind, 'REJECT');
    assert.equal(frame.kind === 'REJECT' && frame.reason, RejectReason.NO_CERTIFICATE);
    await until(() => r.reasons().includes('NO_CERTIFICATE'));
  });

  it('with an unauthorized certificate: a REJECT (UNKNOWN_KEY), nothing else, and closed', async () => {
    const files = await write('mallory', await makeCertificate(Identity.generate()));
    const { stdout, exited } = await sClient(listener.port, files, encodeHello());
    assert.ok(exited);
    const frame = decodePrelude(stdout);
    assert.equal(frame.kind === 'REJECT' && frame.reason, RejectReason.UNKNOWN_KEY);
    assert.ok(!stdout.includes(Buffer.from(encodeAccept())));
    await until(() => r.reasons().includes('UNKNOWN_KEY'));
  });

  it('control: with an authorized certificate it gets ACCEPT and the bytes after it', async () => {
    const files = await write('alice', await makeCertificate(alice));
    const { stdout, exited } = await sClient(listener.port, files, encodeHello());
    assert.ok(exited);
    assert.deepEqual(stdout.subarray(0, 8), Buffer.from(encodeAccept()));
    assert.equal(stdout.subarray(8).toString(), 'multiplexer would start here');
  });
});
