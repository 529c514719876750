/**
 * One line describing where a benchmark ran, printed above its results. The 1-minute load average is part of
 * it: on a shared machine a result means little without it.
 */
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const mem = Math.round(totalmem() / 1024 ** 3);
  return `node ${process.version} · ${availableParallelism()} CPUs (${cpu}) · ${mem} GiB · ${process.platform}/${process.arch} · load ${loadavg()[0]!.toFixed(2)} · ${new Date().toISOString()}`;
}
