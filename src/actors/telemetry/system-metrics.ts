/**
 * A system's counters (`ActorSystem.stats()`) as OpenTelemetry observable instruments, read once per
 * collection by one batch callback: nothing runs on the call path.
 *
 * | instrument | kind | unit | attributes |
 * |---|---|---|---|
 * | `rxchan.client.calls` | counter | {call} | `rpc.status_code` — calls this node made that ended |
 * | `rxchan.server.calls` | counter | {call} | `rpc.status_code` — calls peers made here that ended |
 * | `rxchan.client.active_calls` | up-down counter | {call} | calls this node made on connections, not ended |
 * | `rxchan.server.active_calls` | up-down counter | {call} | calls peers made here, in progress |
 * | `rxchan.active_streams` | up-down counter | {stream} | stream results in progress, both sides |
 * | `rxchan.connections` | up-down counter | {connection} | connections open, both directions |
 * | `rxchan.connections.opened` | counter | {connection} | connections opened so far |
 * | `rxchan.network.io` | counter | By | `network.io.direction` (receive, transmit) |
 */
import type { Attributes, BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import { END_CODES, type EndCode } from '../counters.js';
import type { SystemStats } from '../system.js';
import { RPC_STATUS_CODE } from './names.js';

/** What the instruments read. */
export interface StatsSource {
  stats(): SystemStats;
}

const BY_CODE = {} as Record<EndCode, Attributes>;
for (const code of END_CODES) BY_CODE[code] = Object.freeze({ [RPC_STATUS_CODE]: code });
const RECEIVE: Attributes = Object.freeze({ 'network.io.direction': 'receive' });
const TRANSMIT: Attributes = Object.freeze({ 'network.io.direction': 'transmit' });

/**
 * Report `source`'s counters through `meter` until the returned function is called (idempotent). Give
 * each system its own MeterProvider, or only one system a meter: two systems reporting to one meter
 * report the same instruments with the same attributes.
 */
export function observeSystem(meter: Meter, source: StatsSource): () => void {
  const clientCalls = meter.createObservableCounter('rxchan.client.calls', {
    description: 'Calls this node made that ended, by rpc.status_code',
    unit: '{call}',
  });
  const serverCalls = meter.createObservableCounter('rxchan.server.calls', {
    description: 'Calls peers made to this node that ended, by rpc.status_code',
    unit: '{call}',
  });
  const clientActive = meter.createObservableUpDownCounter('rxchan.client.active_calls', {
    description: 'Calls this node made on its connections that have not ended',
    unit: '{call}',
  });
  const serverActive = meter.createObservableUpDownCounter('rxchan.server.active_calls', {
    description: 'Calls peers made to this node that are in progress',
    unit: '{call}',
  });
  const streams = meter.createObservableUpDownCounter('rxchan.active_streams', {
    description: 'Stream results in progress, read here or sent from here',
    unit: '{stream}',
  });
  const connections = meter.createObservableUpDownCounter('rxchan.connections', {
    description: 'Connections open, both directions',
    unit: '{connection}',
  });
  const opened = meter.createObservableCounter('rxchan.connections.opened', {
    description: 'Connections opened, both directions',
    unit: '{connection}',
  });
  const io = meter.createObservableCounter('rxchan.network.io', {
    description: 'Bytes read from and written to connections (multiplexer frames)',
    unit: 'By',
  });
  const observables: Observable[] = [
    clientCalls,
    serverCalls,
    clientActive,
    serverActive,
    streams,
    connections,
    opened,
    io,
  ];
  const callback: BatchObservableCallback = (result) => {
    const s = source.stats();
    for (const code of END_CODES) {
      if (s.callsMade[code] > 0) result.observe(clientCalls, s.callsMade[code], BY_CODE[code]);
      if (s.callsServed[code] > 0) result.observe(serverCalls, s.callsServed[code], BY_CODE[code]);
    }
    result.observe(clientActive, s.pendingCalls);
    result.observe(serverActive, s.servedCalls);
    result.observe(streams, s.activeStreams);
    result.observe(connections, s.connections);
    result.observe(opened, s.connectionsOpened);
    result.observe(io, s.bytesIn, RECEIVE);
    result.observe(io, s.bytesOut, TRANSMIT);
  };
  meter.addBatchObservableCallback(callback, observables);
  let observing = true;
  return () => {
    if (!observing) return;
    observing = false;
    meter.removeBatchObservableCallback(callback, observables);
  };
}
