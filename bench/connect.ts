/**
 * Connection setup benchmark: how many connections per second a dialer sets up, one after another,
 * against a listener in a child process, in one run:
 *
 *  - rxchan: `dialTls` until the server's ACCEPT (mutual TLS 1.3, both keys checked, prelude), fresh
 *    (no ticket) and resumed (session ticket);
 *  - raw node:tls, mutual TLS 1.3 with the same kind of certificates (ed25519, self-signed), nothing
 *    checked: until `secureConnect`, and until the server's first byte (the same round trips as the
 *    prelude: in TLS 1.3 the server writes only after it has the client's Finished).
 *
 * Each figure is the median (min–max) of BENCH_RUNS (3) runs of BENCH_CONNECT_MS (1000) ms, after a
 * warm-up; rows alternate so drift hits all alike. Ratios are rxchan / raw. Bounded: well under a minute.
 * `run()` is the entry (bench/run.ts); run with `--connect-peer` this file is the child's listener.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import tls from 'node:tls';
import { type CertificateMaterial, Identity, makeCertificate } from '../src/auth/index.js';
import { dialTls, listenTls, SessionStore } from '../src/transport/connection/index.js';
import { servePeer, spawnPeer } from './lib/child.js';
import { formatSummary, nowMs, percent, summarize } from './lib/stats.js';
import { printTable } from './lib/table.js';

const PEER_FLAG = '--connect-peer';

function envInt(name: string, fallback: number, min: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${v}`);
  return n;
}

/** Child: an rxchan listener and a raw node:tls server with the same kind of certificate. */
function servePeerSide(serverSeed: string, clientId: string): void {
  servePeer(async () => {
    const identity = Identity.fromSeed(Buffer.from(serverSeed, 'hex'));
    const listener = await listenTls(
      { identity, authorizedKeys: [{ key: clientId, name: 'bench' }], maxHandshakes: 0 },
      (c) => c.socket.resume(), // the dialer closes right after ACCEPT
    );
    const cert = await makeCertificate(identity);
    const raw = tls.createServer({
      key: cert.keyPem,
      cert: cert.certPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
    });
    raw.on('secureConnection', (s) => {
      s.on('error', () => undefined);
      s.write(Buffer.of(1)); // "the server speaks first", like ACCEPT
      s.resume();
    });
    raw.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    return {
      ports: { rxchan: listener.port, raw: (raw.address() as { port: number }).port },
      close: async () => {
        await listener.close({ destroyConnections: true });
        raw.close();
      },
    };
  });
}

type Setup = () => Promise<boolean>; // resolves whether the connection was resumed

/** Connections set up per second, one at a time, for `ms`; and the share that was resumed. */
async function measure(setup: Setup, ms: number): Promise<{ perSecond: number; resumed: number }> {
  const start = nowMs();
  let n = 0;
  let resumed = 0;
  while (nowMs() - start < ms) {
    if (await setup()) resumed++;
    n++;
  }
  return { perSecond: n / ((nowMs() - start) / 1000), resumed: resumed / n };
}

function rawSetup(port: number, cert: CertificateMaterial, untilFirstByte: boolean, resume: boolean): Setup {
  let session: Buffer | undefined;
  const context = tls.createSecureContext({
    key: cert.keyPem,
    cert: cert.certPem,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
  });
  return async () => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      secureContext: context,
      rejectUnauthorized: false,
      ...(resume && session ? { session } : {}),
    });
    socket.on('session', (s: Buffer) => {
      session = s;
    });
    await once(socket, untilFirstByte ? 'data' : 'secureConnect');
    const reused = socket.isSessionReused();
    if (resume && !session) await once(socket, 'session'); // prime the first ticket
    socket.destroy();
    return reused;
  };
}

export async function run(): Promise<void> {
  const runs = envInt('BENCH_RUNS', 3, 3);
  const ms = envInt('BENCH_CONNECT_MS', 1000, 100);
  const serverSeed = randomBytes(32); // handed to the child, which serves as this identity
  const server = Identity.fromSeed(serverSeed);
  const client = Identity.generate();
  const peer = await spawnPeer(new URL(import.meta.url), [PEER_FLAG, serverSeed.toString('hex'), client.id]);
  const ports = peer.ports as Record<'rxchan' | 'raw', number>;
  try {
    const clientCert = await makeCertificate(client);
    const store = new SessionStore();
    const rx =
      (session: SessionStore | false): Setup =>
      async () => {
        const c = await dialTls({
          identity: client,
          host: '127.0.0.1',
          port: ports.rxchan,
          serverKey: server.id,
          session,
        });
        c.socket.destroy();
        return c.resumed;
      };
    const rows: [string, Setup][] = [
      ['rxchan, fresh', rx(false)],
      ['raw TLS to secureConnect, fresh', rawSetup(ports.raw, clientCert, false, false)],
      ['raw TLS to first byte, fresh', rawSetup(ports.raw, clientCert, true, false)],
      ['rxchan, resumed', rx(store)],
      ['raw TLS to secureConnect, resumed', rawSetup(ports.raw, clientCert, false, true)],
      ['raw TLS to first byte, resumed', rawSetup(ports.raw, clientCert, true, true)],
    ];
    for (const [, setup] of rows) await measure(setup, Math.min(ms, 300)); // warm-up, primes tickets
    const samples = rows.map(() => [] as number[]);
    const resumedShare = rows.map(() => 0);
    for (let r = 0; r < runs; r++) {
      for (let i = 0; i < rows.length; i++) {
        const m = await measure(rows[i]![1], ms);
        samples[i]!.push(m.perSecond);
        resumedShare[i] = m.resumed;
      }
    }
    const s = samples.map(summarize);
    const ratio = (i: number, base: number) => percent(s[i]!.median, s[base]!.median);
    printTable(
      `connection setups/s, one at a time, ${ms} ms per run, median (min–max) of ${runs}`,
      ['setup', 'setups/s', 'ms each', 'resumed', 'rxchan vs this'],
      rows.map(([name], i) => [
        name,
        formatSummary(s[i]!, 0),
        (1000 / s[i]!.median).toFixed(2),
        `${Math.round(resumedShare[i]! * 100)}%`,
        i === 0 || i === 3 ? '' : ratio(i < 3 ? 0 : 3, i),
      ]),
    );
    console.log(
      `\nrxchan resumed vs fresh: ${(s[3]!.median / s[0]!.median).toFixed(2)}x; ` +
        `rxchan fresh / raw-to-first-byte fresh: ${ratio(0, 2)}; resumed: ${ratio(3, 5)}`,
    );
  } finally {
    await peer.stop();
  }
}

// The benchmark is one file: the child runs this same module with the peer flag.
if (process.argv[2] === PEER_FLAG) servePeerSide(process.argv[3]!, process.argv[4]!);
