/**
 * Connection setup benchmark: how many connections per second a dialer sets up, one after another,
 * against listeners in a child process, in one run:
 *
 *  - rxchan: `dialTls` until the server's ACCEPT is read (mutual TLS 1.3, both keys checked, prelude),
 *    fresh (no ticket) and resumed (session ticket);
 *  - raw node:tls, mutual TLS 1.3, nothing checked, until the client has the server's first application
 *    byte: the same point as ACCEPT (in TLS 1.3 the server can write only after it has the client's
 *    Finished, so both cost the same round trips).
 *
 * Fair by construction: the same kind of certificates (ed25519, self-signed, made by makeCertificate),
 * the same TLS options on both servers (1.3 only, client certificate requested, the same session id
 * context, ticket keys and lifetime) and both clients (one secure context made once, Nagle off as rxchan
 * sets it), both servers in the same child process, the same sequential client loop, a warm-up, and
 * rows taking turns in short blocks within each run (see measureRun). Tickets are handled the same way: fresh clients do not listen for
 * them, resuming clients keep the newest. A third raw row stops at `secureConnect` (the handshake only,
 * one round trip less) for reference; it is not comparable and gets no ratio.
 *
 * Each figure is the median (min–max) of BENCH_RUNS (5) runs in which every row spends BENCH_CONNECT_MS
 * (1000) ms; ratios are taken within a run. Bounded: well under a minute. `run()` is the entry (bench/run.ts); with `--connect-peer` this file is the child.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import tls from 'node:tls';
import { type CertificateMaterial, Identity, makeCertificate } from '../src/auth/index.js';
import { dialTls, listenTls, SessionStore } from '../src/transport/connection/index.js';
// Internal constants, so the raw server is configured exactly like the listener's secure context.
import { SESSION_ID_CONTEXT, TLS_VERSION } from '../src/transport/connection/tls-listen.js';
import { servePeer, spawnPeer } from './lib/child.js';
import { envInt } from './lib/env.js';
import { formatSummary, nowMs, summarize } from './lib/stats.js';
import { printTable } from './lib/table.js';

const PEER_FLAG = '--connect-peer';

/** The listener's default ticket lifetime, s (ConnectionConfig.sessionTicketLifetimeMs). */
const TICKET_LIFETIME_S = 3600;

/** Child: an rxchan listener and a raw node:tls server with the same kind of certificate and TLS options. */
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
      minVersion: TLS_VERSION,
      maxVersion: TLS_VERSION,
      requestCert: true,
      rejectUnauthorized: false,
      sessionIdContext: SESSION_ID_CONTEXT,
      ticketKeys: randomBytes(48),
      sessionTimeout: TICKET_LIFETIME_S,
      noDelay: true, // as the listener's sockets
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

/** Connections a row sets up back to back before the next row takes its turn. */
const BLOCK = 20;

/**
 * One run: connections set up one at a time, the rows taking turns in blocks of {@link BLOCK} until each
 * has spent `ms`; per row, setups per second (of its own time) and the share that was resumed. Turns of
 * a few tens of ms put every row under the same machine load (this box is shared and drifts within a
 * second), while a connection's teardown in the child still overlaps mostly its own row's next setup.
 */
async function measureRun(
  setups: readonly Setup[],
  ms: number,
): Promise<{ perSecond: number; resumed: number }[]> {
  const time = setups.map(() => 0);
  const count = setups.map(() => 0);
  const resumed = setups.map(() => 0);
  while (time.some((t) => t < ms)) {
    for (let i = 0; i < setups.length; i++) {
      if (time[i]! >= ms) continue;
      const start = nowMs();
      for (let k = 0; k < BLOCK; k++) if (await setups[i]!()) resumed[i]!++;
      time[i]! += nowMs() - start;
      count[i]! += BLOCK;
    }
  }
  return setups.map((_, i) => ({
    perSecond: count[i]! / (time[i]! / 1000),
    resumed: resumed[i]! / count[i]!,
  }));
}

function rawSetup(port: number, cert: CertificateMaterial, untilFirstByte: boolean, resume: boolean): Setup {
  let session: Buffer | undefined;
  const context = tls.createSecureContext({
    key: cert.keyPem,
    cert: cert.certPem,
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
  });
  return async () => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      secureContext: context,
      rejectUnauthorized: false,
      ...(resume && session ? { session } : {}),
    });
    socket.setNoDelay(true); // as dialTls
    // Listening makes Node serialize every ticket; a client that does not resume does not listen.
    if (resume)
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
  const runs = envInt('BENCH_RUNS', 5, 3);
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
    // `base` is the raw row an rxchan row is compared with (within each run).
    const rows: { name: string; setup: Setup; base?: number }[] = [
      { name: 'rxchan, fresh', setup: rx(false), base: 1 },
      { name: 'raw TLS to first byte, fresh', setup: rawSetup(ports.raw, clientCert, true, false) },
      { name: 'rxchan, resumed', setup: rx(store), base: 3 },
      { name: 'raw TLS to first byte, resumed', setup: rawSetup(ports.raw, clientCert, true, true) },
      { name: 'raw TLS handshake only, fresh', setup: rawSetup(ports.raw, clientCert, false, false) },
      { name: 'raw TLS handshake only, resumed', setup: rawSetup(ports.raw, clientCert, false, true) },
    ];
    const setups = rows.map((row) => row.setup);
    await measureRun(setups, Math.min(ms, 300)); // warm-up, primes tickets
    const samples = rows.map(() => [] as number[]);
    const resumedShare = rows.map(() => 0);
    for (let r = 0; r < runs; r++) {
      const results = await measureRun(setups, ms);
      results.forEach((m, i) => {
        samples[i]!.push(m.perSecond);
        resumedShare[i] = m.resumed;
      });
    }
    const s = samples.map(summarize);
    // Ratios are taken per run (the rows of a run share its load) and then summarized, so drift of
    // the machine between runs does not enter them.
    const paired = (i: number, base: number) =>
      summarize(samples[i]!.map((v, r) => (v / samples[base]![r]!) * 100));
    printTable(
      `connection setups/s, one at a time, ${ms} ms per row and run, median (min–max) of ${runs} runs`,
      ['setup', 'setups/s', 'ms each', 'resumed', 'rxchan / raw, %'],
      rows.map(({ name, base }, i) => [
        name,
        formatSummary(s[i]!, 0),
        (1000 / s[i]!.median).toFixed(2),
        `${Math.round(resumedShare[i]! * 100)}%`,
        base === undefined ? '' : formatSummary(paired(i, base), 0),
      ]),
    );
    const fresh = paired(0, 1).median;
    const resumed = paired(2, 3).median;
    const speedup = paired(2, 0).median / 100;
    console.log(
      `\nrxchan fresh: ${fresh.toFixed(0)}% of raw (target >= 90%: ${fresh >= 90 ? 'met' : 'NOT met'}); ` +
        `resumed: ${resumed.toFixed(0)}% of raw; rxchan resumed / fresh: ${speedup.toFixed(2)}x ` +
        `(target > 1: ${speedup > 1 ? 'met' : 'NOT met'})`,
    );
  } finally {
    await peer.stop();
  }
}

// The benchmark is one file: the child runs this same module with the peer flag.
if (process.argv[2] === PEER_FLAG) servePeerSide(process.argv[3]!, process.argv[4]!);
