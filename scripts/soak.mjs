#!/usr/bin/env node
// Load for longer than `npm test` runs it: the 200 connections x 500 calls, all at once, over
// mutual TLS 1.3 on 127.0.0.1 with random deadlines and cancellations mixed in, then bigger rounds for
// SOAK_MINUTES (default 3), each a fresh set of connections against the same kind of server. Uses the
// driver of specs/integration/load.spec.ts (dist/specs/support/fault-load.js) and prints, per round,
// the figures that spec asserts. Exits 1 at the first round that loses, doubles or misroutes a call,
// leaves a stream or a counter behind, or keeps memory after GC: more than 16 MiB of live JS heap over
// the round's baseline, or RSS more than 50 MiB above where round 2 left it (RSS does not come
// all the way down after a 400 MiB peak: V8 keeps its grown young generation and the allocator its
// pages, with the heap back at its baseline; a leak shows as growth from round to round), or a live
// heap after GC more than 4 MiB above where round 2 left it (a leak of a few KiB per closed system or
// connection grows it by a MiB or more per round; the heap after GC is otherwise flat within 1 MiB).
// Run with --expose-gc for the memory figures (the npm script does):
//
//   npm run build && node --expose-gc scripts/soak.mjs
//   SOAK_MINUTES=10 SOAK_CONNECTIONS=300 SOAK_CALLS=1000 node --expose-gc scripts/soak.mjs
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.env.SPECS_DIR ?? 'dist/specs';
const { runLoad } = await import(pathToFileURL(resolve(join(root, 'support', 'fault-load.js'))).href);

const minutes = Number(process.env.SOAK_MINUTES ?? 3);
const rounds = [
  { connections: 200, callsPerConnection: 500 },
  {
    connections: Number(process.env.SOAK_CONNECTIONS ?? 200),
    callsPerConnection: Number(process.env.SOAK_CALLS ?? 1000),
    inflight: 40,
  },
];
const RSS_SLACK_MIB = 50;
const HEAP_SLACK_MIB = 16;
const HEAP_GROWTH_MIB = 4;

let plateau;
let heapPlateau;

function problems(r) {
  const out = [];
  const zero = ['lost', 'ranTwice', 'answeredTwice', 'wrongReply', 'okWithoutAnswer', 'plainFailed'];
  for (const k of zero) if (r[k] !== 0) out.push(`${k} ${r[k]}`);
  if (Object.keys(r.otherErrors).length > 0)
    out.push(`errors ${JSON.stringify(r.otherErrors)} ${JSON.stringify(r.sampleErrors)}`);
  if (r.ok + r.deadlineExceeded + r.cancelled !== r.calls) out.push('outcomes do not add up');
  const c = r.countersAfter;
  if (c.served || c.pending || c.buffered) out.push(`counters left ${JSON.stringify(c)}`);
  const s = r.streamsAfter;
  if (s.server !== s.expected || s.clients !== s.expected) out.push(`streams left ${JSON.stringify(s)}`);
  if (r.connectionsAfterClose !== 0) out.push(`${r.connectionsAfterClose} connections left`);
  // The plateau is where the first round of the repeated (bigger) configuration left RSS.
  if (round === 2) {
    plateau = r.rss.after;
    heapPlateau = r.heap.after;
  }
  if (r.rss.gc && plateau !== undefined && r.rss.after - plateau > RSS_SLACK_MIB) {
    out.push(`RSS +${(r.rss.after - plateau).toFixed(1)} MiB over round 2`);
  }
  if (r.rss.gc && r.heap.after - r.heap.baseline > HEAP_SLACK_MIB)
    out.push(`heap +${(r.heap.after - r.heap.baseline).toFixed(1)} MiB`);
  if (r.rss.gc && heapPlateau !== undefined && r.heap.after - heapPlateau > HEAP_GROWTH_MIB)
    out.push(
      `heap after GC +${(r.heap.after - heapPlateau).toFixed(1)} MiB over round 2 (a leak across rounds)`,
    );
  return out;
}

const until = Date.now() + minutes * 60_000;
let total = 0;
let round = 0;
const gcNote =
  typeof globalThis.gc === 'function' ? '' : ' (no --expose-gc: the driver sets the V8 flag itself)';
console.log(`soak: ${minutes} min, TLS on 127.0.0.1, 10% deadlines and 10% cancels (1 ms - 2 s)${gcNote}`);
do {
  const options = rounds[Math.min(round, rounds.length - 1)];
  const r = await runLoad({ ...options, seed: round + 1 });
  round++;
  total += r.calls;
  console.log(
    `round ${round}: ${r.connections} connections (connected in ${r.connectMs} ms) x ${options.callsPerConnection} ` +
      `calls = ${r.calls} in ${(r.elapsedMs / 1000).toFixed(1)} s, ${r.callsPerSecond} calls/s | ok ${r.ok} ` +
      `(${r.beatTheEnd.deadline}+${r.beatTheEnd.cancel} beat a deadline/cancel), ` +
      `deadline ${r.deadlineExceeded}, cancelled ${r.cancelled} | lost ${r.lost}, run twice ${r.ranTwice}, ` +
      `answered twice ${r.answeredTwice}, misrouted ${r.wrongReply} | streams left ${r.streamsAfter.server - r.streamsAfter.expected}/${r.streamsAfter.clients - r.streamsAfter.expected} | ` +
      `RSS ${r.rss.baseline} -> peak ${r.rss.peak} -> ${r.rss.after} MiB, heap ${r.heap.baseline} -> ${r.heap.after} MiB`,
  );
  const bad = problems(r);
  if (bad.length > 0) {
    console.error(`FAILED in round ${round}: ${bad.join('; ')}`);
    process.exit(1);
  }
} while (Date.now() < until);
console.log(`${round} rounds, ${total} calls, no call lost, doubled or misrouted; tables and counters empty`);
