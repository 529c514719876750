/**
 * From Chromium over WebSocket: rxchan against capnweb in the same run (issue 13). One page, bundled by
 * esbuild with rxchan's browser build (dist/browser/rxchan.js) and capnweb, holds a client of each;
 * each system's server runs alone in a Node child on ws://127.0.0.1 (./browser/peer.ts). rxchan's
 * client pins the server's key and its connection runs the in-band ed25519 handshake once; capnweb's
 * has no authentication. Both serve `add(a, b)` and a stream of `n` messages `{ seq }`: rxchan as a
 * pulled AsyncIterable (`seqs`) and a pushed Observable (`range`), both subscribed as an Observable in
 * the page; capnweb as a ReadableStream with its flow control, read to the end. Every result and every
 * message's order and count are checked in the page. A third child, `raw`, answers calls written by
 * hand, one JSON text message each way per call and no RPC library: the floor of the calls figure.
 *
 * The page runs in a Chromium that no DevTools protocol watches (./browser/driver.ts). After a
 * warm-up, each run measures both systems in turn (the order alternates): calls/s with
 * BENCH_BROWSER_IN_FLIGHT (100) calls always in flight for BENCH_BROWSER_MS (1500 ms), one call at a
 * time for half that (p50), then streams of BENCH_BROWSER_MESSAGES (20000) messages back to back for
 * the same window (at least one stream). Medians (min–max) of BENCH_BROWSER_RUNS (7) runs;
 * rxchan/capnweb ratios per run. Beside each figure, the CPU the server child, the page's renderer and
 * Chromium's other processes (main, network service) used over the window, in cores (this machine has
 * two). BENCH_BROWSER_WARM_MS (1500) sets the warm-up.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT, skipBrowser } from '../specs/browser/support.js';
import { Identity } from '../src/index.js';
import { type DrivenPage, openPage } from './browser/driver.js';
import type { BrowserPeerSpec } from './browser/peer.js';
import { envInt } from './lib/env.js';
import { descendantsCpuUs } from './lib/proc-cpu.js';
import { type SuitePeer, spawnSuitePeer } from './lib/suite-child.js';
import { printTable } from './lib/table.js';
import { fmt, formatRatio, median, pairedRatio } from './suite/report.js';

/** `raw` is the floor under both: one JSON text message each way per call, no RPC library, no stream. */
const SYSTEMS = ['rxchan', 'capnweb', 'raw'] as const;
type System = (typeof SYSTEMS)[number];
/** rxchan's two stream kinds; capnweb has one (its ReadableStream), compared with both. */
const KINDS = ['pulled', 'pushed'] as const;
type Kind = (typeof KINDS)[number];

interface Config {
  runs: number;
  windowMs: number;
  warmMs: number;
  inFlight: number;
  messages: number;
}

function config(): Config {
  return {
    runs: envInt('BENCH_BROWSER_RUNS', 7, 1),
    windowMs: envInt('BENCH_BROWSER_MS', 1500, 100),
    warmMs: envInt('BENCH_BROWSER_WARM_MS', 1500, 0),
    inFlight: envInt('BENCH_BROWSER_IN_FLIGHT', 100, 1),
    messages: envInt('BENCH_BROWSER_MESSAGES', 20_000, 1),
  };
}

/**
 * One figure's samples, with the CPU (in cores) over each window of the server child, of the page's
 * renderer process, and of Chromium's other processes (the main one, the network service, …).
 */
interface Figure {
  values: number[];
  server: number[];
  renderer: number[];
  otherChromium: number[];
}

const figure = (): Figure => ({ values: [], server: [], renderer: [], otherChromium: [] });

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/**
 * The page and its clients, bundled into `dir` (rxchan's bundle is built first, from dist/src), and
 * opened in Chromium.
 */
async function bundleAndOpen(dir: string): Promise<DrivenPage> {
  const { buildBrowser } = (await import(join(ROOT, 'scripts/build-browser.mjs'))) as {
    buildBrowser(): Promise<unknown>;
  };
  await buildBrowser();
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'bench/browser/page.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    outfile: join(dir, 'page.js'),
    logLevel: 'silent',
  });
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>rxchan browser bench</title><script type="module" src="/page.js"></script>',
  );
  return openPage({
    '/': [join(dir, 'index.html'), 'text/html'],
    '/page.js': [join(dir, 'page.js'), 'text/javascript'],
  });
}

export async function run(): Promise<void> {
  if (skipBrowser) {
    console.log(`skipped: ${skipBrowser}`);
    return;
  }
  const cfg = config();
  const dir = mkdtempSync(join(tmpdir(), 'rxchan-bench-page-'));
  const peers: Partial<Record<System, SuitePeer>> = {};
  let page: DrivenPage | undefined;
  try {
    page = await bundleAndOpen(dir);
    const inPage = <T>(ms: number, op: string, ...args: unknown[]) => page!.step<T>(op, args, ms);
    const setUp = await inPage<{ id: string; kind: string; isolated: boolean }>(10_000, 'setUp');
    const serverSeed = randomBytes(32);
    const spec: BrowserPeerSpec = { serverSeed: serverSeed.toString('hex'), clientId: setUp.id };
    for (const s of SYSTEMS)
      peers[s] = await spawnSuitePeer(new URL('./browser/peer.js', import.meta.url), [
        s,
        JSON.stringify(spec),
      ]);
    await inPage(15_000, 'connect', {
      rxchanUrl: `ws://127.0.0.1:${peers.rxchan!.ports.rxchan}/rxchan`,
      serverKey: Identity.fromSeed(serverSeed).id,
      capnwebUrl: `ws://127.0.0.1:${peers.capnweb!.ports.capnweb}/`,
      rawUrl: `ws://127.0.0.1:${peers.raw!.ports.raw}/`,
    });
    console.log(
      `page: ${setUp.kind} key, crossOriginIsolated ${setUp.isolated}; ${cfg.runs} runs, ${cfg.windowMs} ms windows, ${cfg.inFlight} in flight, ${cfg.messages} messages per stream`,
    );

    const limit = (ms: number) => ms + 65_000;
    /** Runs `body` in the page, measuring the CPU of system `s`'s server child and of Chromium meanwhile. */
    const measured = async <T>(
      s: System,
      body: () => Promise<T>,
      into?: Figure,
      value?: (r: T) => number,
    ) => {
      const exclude = SYSTEMS.map((x) => peers[x]!.pid);
      const chromeBefore = descendantsCpuUs(process.pid, exclude);
      await peers[s]!.ask('window-begin');
      const started = process.hrtime.bigint();
      const r = await body();
      const wallUs = Number(process.hrtime.bigint() - started) / 1000;
      const usage = await peers[s]!.ask('window-end');
      const chromeAfter = descendantsCpuUs(process.pid, exclude);
      const rendererUs = (chromeAfter.get('renderer') ?? 0) - (chromeBefore.get('renderer') ?? 0);
      const otherUs = sum(chromeAfter) - sum(chromeBefore) - rendererUs;
      if (into && value) {
        into.values.push(value(r));
        into.server.push(usage.cpuUs / wallUs);
        into.renderer.push(rendererUs / wallUs);
        into.otherChromium.push(otherUs / wallUs);
      }
      return r;
    };
    const inFlight = (s: System, ms: number, into?: Figure) =>
      measured(
        s,
        () => inPage<{ rate: number }>(limit(ms), 'inFlight', s, ms, cfg.inFlight),
        into,
        (r) => r.rate,
      );
    const sequential = (s: System, ms: number, into?: number[]) =>
      inPage<{ p50Us: number }>(limit(ms), 'sequential', s, ms).then((r) => into?.push(r.p50Us));
    const stream = (s: System, kind: Kind, ms: number, into?: Figure) =>
      measured(
        s,
        () => inPage<{ rate: number }>(limit(ms), 'stream', s, kind, cfg.messages, ms),
        into,
        (r) => r.rate,
      );
    const kindsOf = (s: System): readonly Kind[] =>
      s === 'rxchan' ? KINDS : s === 'capnweb' ? ['pulled'] : [];

    for (const s of SYSTEMS) {
      await inFlight(s, cfg.warmMs);
      await sequential(s, cfg.warmMs / 2);
      for (const k of kindsOf(s)) await stream(s, k, 0);
    }
    const calls: Record<System, Figure> = { rxchan: figure(), capnweb: figure(), raw: figure() };
    const p50: Record<System, number[]> = { rxchan: [], capnweb: [], raw: [] };
    const streams: Partial<Record<`${System}-${Kind}`, Figure>> = {};
    const streamOf = (key: `${System}-${Kind}`): Figure => (streams[key] ??= figure());
    for (let r = 0; r < cfg.runs; r++) {
      // Alternate which system goes first, so drift within a run favours neither.
      const order = r % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse();
      for (const s of order) await inFlight(s, cfg.windowMs, calls[s]);
      for (const s of order) await sequential(s, cfg.windowMs / 2, p50[s]);
      for (const s of order)
        for (const k of kindsOf(s)) await stream(s, k, cfg.windowMs, streamOf(`${s}-${k}`));
    }

    const cores = (f: Figure) =>
      [f.server, f.renderer, f.otherChromium].map((x) => median(x).toFixed(2)).join(' / ');
    const coresHeader = 'CPU cores, medians: server / renderer / rest of Chromium';
    printTable(
      `browser: calls from Chromium over ws://127.0.0.1, ${cfg.windowMs} ms windows, median (min–max) of ${cfg.runs}`,
      ['system', `calls/s, ${cfg.inFlight} in flight`, coresHeader, 'one at a time: p50 µs'],
      SYSTEMS.map((s) => [LABEL[s], fmt(calls[s].values), cores(calls[s]), fmt(p50[s])]),
    );
    const streamRows: [string, Figure][] = [
      ['rxchan, AsyncIterable pulled (`seqs`)', streamOf('rxchan-pulled')],
      ['rxchan, Observable pushed (`range`)', streamOf('rxchan-pushed')],
      ['capnweb, ReadableStream (flow control)', streamOf('capnweb-pulled')],
    ];
    printTable(
      `browser: streams of ${cfg.messages} messages { seq } back to back for >= ${cfg.windowMs} ms, each from the call to the last message, median (min–max) of ${cfg.runs}`,
      ['stream', 'msg/s', coresHeader],
      streamRows.map(([label, f]) => [label, fmt(f.values), cores(f)]),
    );
    const capStream = streamOf('capnweb-pulled').values;
    printTable(
      'browser: ratios, per run (rxchan / capnweb unless named)',
      ['figure', 'ratio'],
      [
        [
          `calls/s, ${cfg.inFlight} in flight`,
          formatRatio(pairedRatio(calls.rxchan.values, calls.capnweb.values)),
        ],
        [
          `calls/s, ${cfg.inFlight} in flight, rxchan / raw WebSocket`,
          formatRatio(pairedRatio(calls.rxchan.values, calls.raw.values)),
        ],
        [
          `calls/s, ${cfg.inFlight} in flight, capnweb / raw WebSocket`,
          formatRatio(pairedRatio(calls.capnweb.values, calls.raw.values)),
        ],
        ['one at a time p50 (lower is better)', formatRatio(pairedRatio(p50.rxchan, p50.capnweb))],
        [
          'stream msg/s, rxchan pulled',
          formatRatio(pairedRatio(streamOf('rxchan-pulled').values, capStream)),
        ],
        [
          'stream msg/s, rxchan pushed',
          formatRatio(pairedRatio(streamOf('rxchan-pushed').values, capStream)),
        ],
      ],
    );
  } finally {
    await page?.close();
    await Promise.all(Object.values(peers).map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const LABEL: Record<System, string> = {
  rxchan: 'rxchan (key pinned, in-band handshake once)',
  capnweb: 'capnweb newWebSocketRpcSession (no auth)',
  raw: 'raw WebSocket, one JSON message each way (no library)',
};
