/**
 * What fault and load specs need to see inside an actor system that its public API does not show: the
 * multiplexer session of each of its connections (stream tables, bytes queued per stream). Reads
 * private fields (`links`, a Link's `channels`), so it lives with the specs and breaks loudly — an
 * assertion, not a silent 0 — if those are renamed.
 */
import assert from 'node:assert/strict';
import type { ActorSystem } from '../../src/actors/index.js';
import type { ChannelSession } from '../../src/transport/channel/index.js';
import type { Session, Stream } from '../../src/transport/mux/index.js';

/** The multiplexer sessions of `system`'s open connections, both directions. */
export function muxSessions(system: ActorSystem): Session[] {
  const links = (system as unknown as { links?: Set<{ channels: ChannelSession }> }).links;
  assert.ok(
    links instanceof Set,
    'ActorSystem keeps its connections in `links` (fault-probe.ts needs updating)',
  );
  return [...links].map((l) => l.channels.mux);
}

/** The streams in a session's table. */
export function streamsOf(session: Session): Stream[] {
  const streams = (session as unknown as { streams?: { toArray?: () => Stream[] } }).streams;
  assert.ok(
    typeof streams?.toArray === 'function',
    'Session keeps its table in `streams`, a StreamTable (fault-probe.ts needs updating)',
  );
  return streams.toArray();
}

/** Streams open on all of `system`'s connections. */
export function openStreams(system: ActorSystem): number {
  return muxSessions(system).reduce((n, s) => n + s.streamCount, 0);
}

/** Bytes written on `system`'s streams and not yet sent (waiting for the peer's window), in total. */
export function queuedBytes(system: ActorSystem): number {
  let n = 0;
  for (const s of muxSessions(system)) for (const stream of streamsOf(s)) n += stream.queuedBytes;
  return n;
}
